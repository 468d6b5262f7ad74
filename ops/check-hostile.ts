/**
 * `rainstream check-hostile` (`npm run check:hostile`): a throw-away deployment on the local stack, warmed
 * up with real rows, then the hostile corpus (test/hostile/corpus.ts: CSV rows, HTTP requests, raw Kafka
 * records) sent at its edges, and each outcome checked from the outside. Prints one line per case and the
 * summary line; exits 1 unless crashes, silent drops, corrupted rows, 5xx answers and mismatches are all 0.
 * The deployment is removed afterwards (--keep leaves it for inspection).
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { removeDeployment } from '../lib/deployment/teardown.ts';
import { runCommand } from '../lib/platform/cli/command.ts';
import { loadConfig } from '../lib/platform/config.ts';
import { createLogger } from '../lib/platform/log.ts';
import { formatReport, runHostileCheck } from '../test/hostile/harness.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const USAGE = `
usage: rainstream check-hostile [--keep] [--settle-seconds N] [--include-pending]

Sets up a throw-away deployment on the local stack (its own topics, groups, Redis prefix and ClickHouse
database), runs the pipeline and the API as child processes, replays real rows to warm it up, sends the
hostile corpus (CSV rows through the replay, raw records onto the topics, HTTP requests to the API) and
checks every outcome from the outside: a DLQ record naming field and reason, a 4xx naming the field, or
the valid input accepted unchanged; no process crash, nothing dropped silently, no impossible row in
ClickHouse or Redis, no 5xx. Ends with the line
  hostile: cases=N dlq_with_reason=N http_4xx=N accepted_valid=N crashes=N silent_drops=N corrupted=N http_5xx=N

  --keep              leave the deployment in place (its names are printed)
  --settle-seconds N  how long to wait for outcomes after the last input (default 120)
  --include-pending   also the cases whose outcome waits for another engineer's work (listed in the corpus)
`;

const optionsSchema = z.strictObject({
  keep: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
  settleSeconds: z.coerce.number().int().positive().default(120),
  includePending: z
    .union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')])
    .default(false),
});

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'check-hostile', usage: USAGE, options: optionsSchema }, argv, async (options) => {
    const stack = spawnSync('bash', ['ops/stack', 'up'], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (stack.status !== 0) return stack.status ?? 1;
    const id = `hostile-${new Date().toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
    const base = process.env as Record<string, string>;
    const env: Record<string, string> = {
      ...base,
      TOPIC_PREFIX: `rainstream-${id}`,
      REDIS_PREFIX: `rs-${id}`,
      CLICKHOUSE_DATABASE: `rainstream_${id.replace(/-/g, '_')}`,
      TOPIC_PARTITIONS: base.TOPIC_PARTITIONS ?? '3',
    };
    const config = loadConfig(env);
    const logger = createLogger({ ...config, logLevel: 'warn' });
    const progress = (message: string) => process.stderr.write(`== ${message}\n`);
    let code = 1;
    try {
      const report = await runHostileCheck({
        env,
        logger,
        progress,
        settleMs: options.settleSeconds * 1000,
        includePending: options.includePending,
      });
      console.log(formatReport(report));
      const s = report.summary;
      code = s.crashes + s.silent_drops + s.corrupted + s.http_5xx + s.mismatches === 0 ? 0 : 1;
    } finally {
      if (options.keep)
        progress(`kept: TOPIC_PREFIX=${env.TOPIC_PREFIX} CLICKHOUSE_DATABASE=${env.CLICKHOUSE_DATABASE}`);
      else await removeDeployment(config, logger);
    }
    return code;
  });
  process.exit(process.exitCode ?? 0);
}

if (import.meta.main) await main(process.argv.slice(2));
