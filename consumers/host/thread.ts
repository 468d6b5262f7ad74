/**
 * Worker-thread entry that hosts a group of stages (startPipelineThreads): the stages of one thread share
 * its clients; counters go to the parent every 100 ms; 'stop' stops the stages and closes the clients.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../../lib/platform/config.ts';
import { createLogger } from '../../lib/platform/log.ts';
import { startPipeline, type StageName } from './pipeline.ts';

export interface ThreadInput {
  config: Config;
  stages: StageName[];
}

export type ThreadMessage =
  | { type: 'started' }
  | { type: 'counters'; counters: Record<string, number> }
  | { type: 'stopped'; counters: Record<string, number>; samples: Record<string, Float64Array> }
  | { type: 'failed'; message: string };

const port = parentPort!;
const { config, stages } = workerData as ThreadInput;
const logger = createLogger(config, undefined, { thread: stages.join('+') });
const post = (m: ThreadMessage) => port.postMessage(m);

try {
  const pipeline = await startPipeline(config, logger, stages);
  const timer = setInterval(
    () => post({ type: 'counters', counters: pipeline.metrics.snapshot().counters }),
    100,
  );
  pipeline.done.catch((error: unknown) => post({ type: 'failed', message: String(error) }));
  port.on('message', (m: { type: string }) => {
    if (m.type !== 'stop') return;
    clearInterval(timer);
    void pipeline.stop().then(() => {
      const snapshot = pipeline.metrics.snapshot();
      post({ type: 'stopped', counters: snapshot.counters, samples: snapshot.samples });
      port.close();
    });
  });
  post({ type: 'started' });
} catch (error) {
  post({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  port.close();
}
