/**
 * Per-message signals are counters, not log lines (a log line per event is a log storm at 10k events/s).
 * The stages call `inc(name, labels, n)` and `observe(name, value)` with their own names; behind that
 * interface each process has one Prometheus registry (prom-client) that `/metrics` exposes:
 *
 * - the stages' names are mapped onto a few standard families, so a dashboard asks one question of every
 *   stage: `rainstream_stage_records_in_total{stage}`, `rainstream_stage_records_out_total{stage}`,
 *   `rainstream_stage_dlq_total{stage,reason}`, `rainstream_stage_outcomes_total{stage,outcome}`;
 *   training: `rainstream_training_runs_total{task,outcome}`, `rainstream_models_trained_total`,
 *   `rainstream_models_promoted_total`. A name the table does not know becomes `rainstream_<name>_total`
 *   with the labels it was given, so a new signal is never lost.
 * - `observe` feeds a histogram (`*_ms` names are exposed in seconds, Prometheus' base unit) and a bounded
 *   uniform reservoir (algorithm R) that `snapshot().samples` returns: quantiles for the benches without
 *   keeping every sample for the life of the process.
 * - `batchDone` is the processing latency of every stage, in two families a dashboard reads alike for all:
 *   `rainstream_stage_batch_seconds{stage}` (one batch, from the stage getting it to its outputs durable and
 *   its offsets committed) and `rainstream_stage_event_latency_seconds{stage}` (each record, from its Kafka
 *   timestamp, when the event entered the stage's input topic, to that commit). The domain's own event time
 *   (an observation's date) is a day, years old in a replay: the log's timestamp is what says how far
 *   behind a stage runs.
 * - `trainingRunDone` is a training run's wall seconds, from its start to its row written:
 *   `rainstream_training_run_seconds{task,outcome}` (outcome as in `rainstream_training_runs_total`).
 */
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface MetricsSnapshot {
  /** Every `inc` so far, keyed `name` or `name{k=v,...}` (the stage's own names). */
  counters: Record<string, number>;
  /** A uniform random sample (at most `reservoirSize`) of each observed series. */
  samples: Record<string, Float64Array>;
}

export interface Metrics {
  inc(name: string, labels?: Record<string, string>, by?: number): void;
  observe(name: string, value: number): void;
  snapshot(): MetricsSnapshot;
  /**
   * A stage finished a batch (outputs durable, offsets committed) at `nowMs`, having got it at
   * `startedAtMs`: observes the batch's seconds and each record's seconds since its Kafka timestamp.
   */
  batchDone(
    stage: string,
    startedAtMs: number,
    records: readonly { timestamp: number }[],
    nowMs?: number,
  ): void;
  /** A training run of `task` ended with `outcome` (trained, skipped, failed) after `seconds`. */
  trainingRunDone(task: string, outcome: string, seconds: number): void;
  /** The Prometheus registry behind these signals; processes add their own collectors to it. */
  readonly registry: Registry;
}

export interface MetricsOptions {
  /** Registry to register in (default: a new one per call, so tests and threads never collide). */
  registry?: Registry;
  /** Samples kept per observed series for `snapshot()`. */
  reservoirSize?: number;
  /** Also export the process' own metrics (CPU, memory, event-loop lag, GC) with this prefix. */
  processMetrics?: boolean;
  /** Replaces Math.random in the reservoir (tests). */
  random?: () => number;
}

export const METRIC_PREFIX = 'rainstream_';
export const DEFAULT_RESERVOIR_SIZE = 10_000;
/** Seconds: from a sub-millisecond step to a minute-long stall. */
export const LATENCY_BUCKETS_S = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];

/**
 * Seconds from a record's Kafka timestamp to its commit: a stage keeping up answers in a batch wait (about
 * 0.2 s), one catching up after an outage or replaying at full speed runs minutes behind.
 */
export const EVENT_LATENCY_BUCKETS_S = [
  0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600,
];

/** Seconds of a training run: a skipped run records in milliseconds, a full refit of every family in minutes. */
export const TRAINING_RUN_BUCKETS_S = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** How one of the stages' signal names reads in the standard families. */
interface StageSignal {
  stage: string;
  /** Each unit is a record the stage consumed. */
  in?: boolean;
  /** Each unit is a record the stage produced (or a row it made durable, for the sink stages). */
  out?: boolean | { whenOutcome: string };
  /** Each unit went to the DLQ, for this reason. */
  dlq?: string;
  /** Counted as this outcome; `'label'` takes the call's `outcome` label. */
  outcome?: string;
}

/**
 * The stages' names today (consumers/<stage>/shell.ts). A record is counted "in" once: through its
 * outcome or through the DLQ, never both.
 */
export const STAGE_SIGNALS: Readonly<Record<string, StageSignal>> = {
  features_events: { stage: 'features', in: true, outcome: 'label', out: { whenOutcome: 'emitted' } },
  features_dlq: { stage: 'features', in: true, dlq: 'undecodable' },
  predictions: { stage: 'predictor', in: true, out: true },
  predictor_dlq: { stage: 'predictor', in: true, dlq: 'rejected' },
  labeler_events: { stage: 'labeler', in: true, outcome: 'label' },
  labels_joined: { stage: 'labeler', out: true },
  labels_missing: { stage: 'labeler', outcome: 'missing' },
  drift_examples: { stage: 'drift', in: true, outcome: 'label' },
  drift_rows: { stage: 'drift', out: true },
  drift_alerts: { stage: 'drift', outcome: 'alert' },
  trainer_examples: { stage: 'trainer', outcome: 'label' },
  alerts_events: { stage: 'alerts', in: true, outcome: 'label' },
  alerts_deliveries: { stage: 'alerts', out: true },
};

/** Signals that are not per-record stage flow: name → [family, help, label renames]. */
const OTHER_COUNTERS: Readonly<Record<string, { family: string; help: string; labels: [string, string][] }>> =
  {
    training_runs: {
      family: 'training_runs_total',
      help: 'Weekly training runs by outcome',
      labels: [
        ['task', 'task'],
        ['status', 'outcome'],
      ],
    },
    models_trained: { family: 'models_trained_total', help: 'Candidate models trained', labels: [] },
    models_promoted: { family: 'models_promoted_total', help: 'Models promoted to champion', labels: [] },
  };

/** A Prometheus metric name from a free name: lower case, [a-z0-9_], not starting with a digit. */
export function metricName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^_+|_+$/g, '');
  return /^[0-9]/.test(cleaned) ? `_${cleaned}` : cleaned || 'unnamed';
}

/** Key of a counter in `snapshot().counters`, as the in-memory map always wrote it. */
export function counterKey(name: string, labels?: Record<string, string>): string {
  if (!labels) return name;
  const entries = Object.entries(labels);
  if (entries.length === 0) return name;
  return `${name}{${entries.map(([k, v]) => `${k}=${v}`).join(',')}}`;
}

/** A fixed-size uniform sample of an unbounded stream (Vitter's algorithm R). */
export class Reservoir {
  readonly values: Float64Array;
  seen = 0;
  private readonly random: () => number;

  constructor(size: number, random: () => number = Math.random) {
    this.values = new Float64Array(size);
    this.random = random;
  }

  add(value: number): void {
    const size = this.values.length;
    if (this.seen < size) {
      this.values[this.seen] = value;
    } else {
      const j = Math.floor(this.random() * (this.seen + 1));
      if (j < size) this.values[j] = value;
    }
    this.seen++;
  }

  sample(): Float64Array {
    return this.values.slice(0, Math.min(this.seen, this.values.length));
  }
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = options.registry ?? new Registry();
  const reservoirSize = options.reservoirSize ?? DEFAULT_RESERVOIR_SIZE;
  if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });

  const counters = new Map<string, number>();
  const reservoirs = new Map<string, Reservoir>();
  const histograms = new Map<string, { histogram: Histogram; scale: number }>();
  const generic = new Map<string, { counter: Counter; labelNames: string[] }>();

  const family = (suffix: string, help: string, labelNames: string[]) =>
    new Counter({ name: `${METRIC_PREFIX}${suffix}`, help, labelNames, registers: [registry] });
  const recordsIn = family('stage_records_in_total', 'Records a stage consumed', ['stage']);
  const recordsOut = family('stage_records_out_total', 'Records a stage produced or made durable', ['stage']);
  const dlq = family('stage_dlq_total', 'Records a stage sent to the DLQ, by reason', ['stage', 'reason']);
  const outcomes = family('stage_outcomes_total', 'What a stage did with its records', ['stage', 'outcome']);
  const others = new Map<string, Counter>();
  const batchSeconds = new Histogram({
    name: `${METRIC_PREFIX}stage_batch_seconds`,
    help: 'Seconds a stage spent on a batch, from getting it to its outputs durable and its offsets committed',
    labelNames: ['stage'],
    buckets: LATENCY_BUCKETS_S,
    registers: [registry],
  });
  const eventLatency = new Histogram({
    name: `${METRIC_PREFIX}stage_event_latency_seconds`,
    help: "Seconds from a record's Kafka timestamp (entering the stage's input topic) to the stage committing it",
    labelNames: ['stage'],
    buckets: EVENT_LATENCY_BUCKETS_S,
    registers: [registry],
  });
  const trainingRunSeconds = new Histogram({
    name: `${METRIC_PREFIX}training_run_seconds`,
    help: 'Wall seconds of a training run, from its start to its row written, by task and outcome',
    labelNames: ['task', 'outcome'],
    buckets: TRAINING_RUN_BUCKETS_S,
    registers: [registry],
  });
  // Children per stage, made once: no label hashing per record.
  const stageHistograms = new Map<
    string,
    { batch: Histogram.Internal<'stage'>; event: Histogram.Internal<'stage'> }
  >();

  const incStage = (signal: StageSignal, labels: Record<string, string> | undefined, by: number) => {
    const stage = signal.stage;
    const outcome = signal.outcome === 'label' ? (labels?.outcome ?? 'unknown') : signal.outcome;
    if (signal.in) recordsIn.inc({ stage }, by);
    if (signal.out === true || (typeof signal.out === 'object' && signal.out.whenOutcome === outcome)) {
      recordsOut.inc({ stage }, by);
    }
    if (signal.dlq !== undefined) dlq.inc({ stage, reason: labels?.reason ?? signal.dlq }, by);
    if (outcome !== undefined) outcomes.inc({ stage, outcome }, by);
  };

  const incOther = (name: string, labels: Record<string, string> | undefined, by: number): boolean => {
    const spec = OTHER_COUNTERS[name];
    if (!spec) return false;
    let counter = others.get(name);
    if (!counter) {
      counter = family(
        spec.family,
        spec.help,
        spec.labels.map(([, to]) => to),
      );
      others.set(name, counter);
    }
    const renamed: Record<string, string> = {};
    for (const [from, to] of spec.labels) renamed[to] = labels?.[from] ?? 'unknown';
    counter.inc(renamed, by);
    return true;
  };

  const incGeneric = (name: string, labels: Record<string, string> | undefined, by: number) => {
    let entry = generic.get(name);
    if (!entry) {
      const labelNames = Object.keys(labels ?? {}).map(metricName);
      entry = {
        counter: family(`${metricName(name)}_total`, `Stage signal ${name}`, labelNames),
        labelNames,
      };
      generic.set(name, entry);
    }
    const values: Record<string, string> = {};
    for (const l of entry.labelNames) values[l] = '';
    for (const [k, v] of Object.entries(labels ?? {})) {
      const l = metricName(k);
      if (l in values) values[l] = v;
    }
    entry.counter.inc(values, by);
  };

  return {
    registry,
    inc(name, labels, by = 1) {
      if (by === 0) return;
      const key = counterKey(name, labels);
      counters.set(key, (counters.get(key) ?? 0) + by);
      const signal = STAGE_SIGNALS[name];
      if (signal) incStage(signal, labels, by);
      else if (!incOther(name, labels, by)) incGeneric(name, labels, by);
    },
    observe(name, value) {
      let reservoir = reservoirs.get(name);
      if (!reservoir) reservoirs.set(name, (reservoir = new Reservoir(reservoirSize, options.random)));
      reservoir.add(value);
      let entry = histograms.get(name);
      if (!entry) {
        const inMs = name.endsWith('_ms');
        const base = metricName(inMs ? name.slice(0, -3) : name);
        entry = {
          histogram: new Histogram({
            name: `${METRIC_PREFIX}${base}${inMs ? '_seconds' : ''}`,
            help: `Distribution of ${name}${inMs ? ' (in seconds)' : ''}`,
            buckets: inMs ? LATENCY_BUCKETS_S : undefined,
            registers: [registry],
          }),
          scale: inMs ? 1 / 1000 : 1,
        };
        histograms.set(name, entry);
      }
      entry.histogram.observe(value * entry.scale);
    },
    batchDone(stage, startedAtMs, records, nowMs = Date.now()) {
      let h = stageHistograms.get(stage);
      if (!h) {
        h = { batch: batchSeconds.labels({ stage }), event: eventLatency.labels({ stage }) };
        stageHistograms.set(stage, h);
      }
      h.batch.observe(Math.max(0, nowMs - startedAtMs) / 1000);
      // A producer's clock ahead of this one would make a negative latency: counted as none.
      for (const r of records) h.event.observe(Math.max(0, nowMs - r.timestamp) / 1000);
    },
    trainingRunDone(task, outcome, seconds) {
      trainingRunSeconds.observe({ task, outcome }, Math.max(0, seconds));
    },
    snapshot() {
      return {
        counters: Object.fromEntries(counters),
        samples: Object.fromEntries([...reservoirs].map(([k, r]) => [k, r.sample()])),
      };
    },
  };
}
