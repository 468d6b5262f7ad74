/**
 * Groups of stages in worker threads of one process, one event loop per group, so one process uses more
 * than one core (a stage is still one consumer group; the split only decides which thread runs it).
 */
import { Worker } from 'node:worker_threads';
import type { Config } from '../../lib/platform/config.ts';
import type { StageName } from './pipeline.ts';

export interface ThreadInput {
  config: Config;
  stages: StageName[];
}

export type ThreadMessage =
  | { type: 'started' }
  | { type: 'counters'; counters: Record<string, number> }
  | { type: 'stopped'; counters: Record<string, number>; samples: Record<string, Float64Array> }
  | { type: 'failed'; message: string };

/** The usual split over two threads: the hot online path, and everything that happens a day later. */
export const TWO_THREADS: readonly (readonly StageName[])[] = [
  ['features', 'predictor'],
  ['labeler', 'drift', 'trainer', 'alerts'],
];

export interface ThreadedPipeline {
  /** Counters summed over the threads, as of their last report (every 100 ms). */
  counters(): Record<string, number>;
  /** Stops every thread; resolves with the final counters and samples. */
  stop(): Promise<{ counters: Record<string, number>; samples: Record<string, Float64Array> }>;
  done: Promise<void>;
}

/**
 * Hosts groups of stages in worker threads, one event loop per group, so one process uses more than one
 * core (a stage is still one consumer group; the split only decides which thread runs it).
 */
export async function startPipelineThreads(
  config: Config,
  groups: readonly (readonly StageName[])[] = TWO_THREADS,
): Promise<ThreadedPipeline> {
  const latest = groups.map(() => ({}) as Record<string, number>);
  let fail!: (e: Error) => void;
  const done = new Promise<void>((_, reject) => (fail = reject));
  done.catch(() => undefined);
  const workers = await Promise.all(
    groups.map(
      (stages, i) =>
        new Promise<Worker>((resolve, reject) => {
          const worker = new Worker(new URL('./thread-entry.ts', import.meta.url), {
            workerData: { config, stages: [...stages] },
          });
          worker.on('message', (m: ThreadMessage) => {
            if (m.type === 'started') resolve(worker);
            else if (m.type === 'counters') latest[i] = m.counters;
            else if (m.type === 'failed') {
              const error = new Error(`stages ${stages.join(',')} failed: ${m.message}`);
              reject(error);
              fail(error);
            }
          });
          worker.on('error', (error) => {
            reject(error);
            fail(error);
          });
        }),
    ),
  );
  const sum = (list: readonly Record<string, number>[]) => {
    const out: Record<string, number> = {};
    for (const c of list) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return {
    counters: () => sum(latest),
    done,
    async stop() {
      const finals = await Promise.all(
        workers.map(
          (w) =>
            new Promise<{ counters: Record<string, number>; samples: Record<string, Float64Array> }>(
              (resolve) => {
                w.on('message', (m: ThreadMessage) => {
                  if (m.type === 'stopped') resolve({ counters: m.counters, samples: m.samples });
                });
                w.postMessage({ type: 'stop' });
              },
            ),
        ),
      );
      await Promise.all(workers.map((w) => w.terminate()));
      const samples: Record<string, Float64Array> = {};
      for (const f of finals) Object.assign(samples, f.samples);
      return { counters: sum(finals.map((f) => f.counters)), samples };
    },
  };
}
