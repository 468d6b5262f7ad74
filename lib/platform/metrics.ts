/**
 * Per-message signals are counters, not log lines (a log line per event is a log storm at 10k events/s).
 * Counters are labelled by stage and outcome; the process shell prints them at shutdown and the bench
 * reads them.
 */
export interface Metrics {
  inc(name: string, labels?: Record<string, string>, by?: number): void;
  observe(name: string, value: number): void;
  snapshot(): { counters: Record<string, number>; samples: Record<string, Float64Array> };
}

export function createMetrics(): Metrics {
  const counters = new Map<string, number>();
  const samples = new Map<string, number[]>();
  return {
    inc(name, labels, by = 1) {
      const key = labels
        ? `${name}{${Object.entries(labels)
            .map(([k, v]) => `${k}=${v}`)
            .join(',')}}`
        : name;
      counters.set(key, (counters.get(key) ?? 0) + by);
    },
    observe(name, value) {
      let list = samples.get(name);
      if (!list) samples.set(name, (list = []));
      list.push(value);
    },
    snapshot() {
      return {
        counters: Object.fromEntries(counters),
        samples: Object.fromEntries([...samples].map(([k, v]) => [k, Float64Array.from(v)])),
      };
    },
  };
}
