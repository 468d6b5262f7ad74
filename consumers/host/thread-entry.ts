/**
 * Worker-thread entry that hosts a group of stages (threads.ts): the stages of one thread share
 * its clients; counters go to the parent every 100 ms; 'stop' stops the stages and closes the clients.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../../lib/platform/log.ts';
import { startPipeline } from './pipeline.ts';
import type { ThreadInput, ThreadMessage } from './threads.ts';

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
