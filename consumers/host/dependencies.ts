/**
 * Start-up waits for what the pipeline needs instead of exiting: Kafka, the schema registry, ClickHouse and
 * Redis are probed side by side, each retried with a capped backoff until it answers, with a log line at
 * the first failure and every tenth, and its state on the health endpoint meanwhile.
 */
import { describeError } from '../../lib/platform/errors.ts';
import type { Health } from '../../lib/platform/health.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { retryForever } from '../../lib/platform/retry.ts';

export type Probe<T> = () => Promise<T>;

/** Resolves with the probe's result once it succeeds; rejects only when `signal` aborts. */
export async function waitForDependency<T>(
  name: string,
  probe: Probe<T>,
  options: { logger: Logger; health?: Health; signal?: AbortSignal },
): Promise<T> {
  const component = `dependency:${name}`;
  const started = Date.now();
  let failed = false;
  const result = await retryForever(probe, {
    signal: options.signal,
    onRetry: ({ error, attempt, delayMs }) => {
      failed = true;
      options.health?.set(component, false, describeError(error));
      if (attempt === 1 || attempt % 10 === 0) {
        options.logger.warn({ dependency: name, err: error, attempt, delayMs }, 'waiting for a dependency');
      }
    },
  });
  options.health?.set(component, true);
  if (failed)
    options.logger.info({ dependency: name, seconds: (Date.now() - started) / 1000 }, 'dependency answers');
  return result;
}
