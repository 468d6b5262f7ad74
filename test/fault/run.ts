/**
 * `npm run test:fault`: the fault suite. On a throw-away stack of its own (test/fault/stack.ts), a slice of
 * the data set is replayed through the pipeline (features, predictor, labeler, drift in a process of their
 * own, retraining off, the prior climatology as the fixed champion) once without faults and once per
 * fault, each run in a deployment of its own. Each fault run is compared with the fault-free one: the
 * ClickHouse tables, the Redis latest forecasts, and duplicate (station, date) records on every topic.
 * Prints a table, then `faults: kinds=N runs=N lost=N duplicated=N differing=N max_recovery_s=N`.
 *
 *   npm run test:fault -- [--faults sigkill,kafka-outage,...] [--from 2013-01-01 --to 2016-12-31]
 *                         [--speed 20] [--keep-stack]
 */
import { spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { registerEvents, type EventCodec } from '../../lib/domain/events.ts';
import { readWeatherCsvFile } from '../../lib/domain/weather/csv.ts';
import { waitForDrain } from '../../lib/deployment/drain.ts';
import { lagProbe, restGroups } from '../../lib/deployment/consumer-groups.ts';
import { runSetup } from '../../lib/deployment/setup.ts';
import { removeDeployment } from '../../lib/deployment/teardown.ts';
import { runCommand } from '../../lib/platform/cli/command.ts';
import { createClickHouse } from '../../lib/platform/clickhouse/client.ts';
import { loadConfig } from '../../lib/platform/config.ts';
import { createKafka } from '../../lib/platform/kafka/client.ts';
import { createLogger, type Logger } from '../../lib/platform/log.ts';
import { createRedis, deleteByPrefix } from '../../lib/platform/redis.ts';
import { createSchemaRegistry } from '../../lib/platform/schema-registry.ts';
import { planReplay } from '../../producers/replay/plan.ts';
import { pollUntil } from '../support/integration.ts';
import { ROOT, startPipelineProcess, type PipelineProcess } from '../support/pipeline-process.ts';
import { judgeRun, type RunSnapshot, type RunVerdict } from './compare.ts';
import { caughtUpAfter, firstProgressAfter, sampleLag, totalLag, type LagSample } from './lag.ts';
import { installChampion, trainFixedChampion } from './champion.ts';
import { JUDGED_TABLES, snapshotRun } from './snapshot.ts';
import { createProducer } from '../../lib/platform/kafka/producer.ts';
import type { ModelRecord } from '../../lib/models/registry.ts';
import { faultStack, type FaultStack } from './stack.ts';

const STAGES = ['features', 'predictor', 'labeler', 'drift'];

/** What a fault does to a running deployment; resolves with the moment its effect ended (epoch ms). */
interface FaultContext {
  stack: FaultStack;
  pipeline: () => PipelineProcess;
  restartPipeline: () => Promise<PipelineProcess>;
  startExtraPipeline: () => Promise<PipelineProcess>;
  wipeRedis: () => Promise<void>;
  log: (message: string) => void;
}

interface Fault {
  name: string;
  what: string;
  inject(context: FaultContext): Promise<number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The pipeline processes of the run in progress: killed if the suite itself is interrupted. */
const children = new Set<PipelineProcess[]>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const list of children) for (const p of list) p.child.kill('SIGKILL');
    process.exit(130);
  });
}

export const FAULTS: readonly Fault[] = [
  {
    name: 'sigkill',
    what: 'SIGKILL of the pipeline, restarted at once',
    async inject(c) {
      await c.pipeline().kill('SIGKILL');
      const at = Date.now();
      await c.restartPipeline();
      return at;
    },
  },
  {
    name: 'sigkill-redis-loss',
    what: 'SIGKILL, every Redis key of the deployment deleted, restarted',
    async inject(c) {
      await c.pipeline().kill('SIGKILL');
      const at = Date.now();
      await c.wipeRedis();
      await c.restartPipeline();
      return at;
    },
  },
  {
    name: 'kafka-outage',
    what: 'Kafka broker SIGKILLed for 20 s, then started again',
    async inject(c) {
      await c.stack.kill('kafka', 'SIGKILL');
      await sleep(20_000);
      await c.stack.up();
      return Date.now();
    },
  },
  {
    name: 'clickhouse-outage',
    what: 'ClickHouse SIGKILLed for 30 s, then started again',
    async inject(c) {
      await c.stack.kill('clickhouse', 'SIGKILL');
      await sleep(30_000);
      await c.stack.up();
      return Date.now();
    },
  },
  {
    name: 'registry-restart',
    what: 'schema registry stopped and started again',
    async inject(c) {
      await c.stack.kill('registry', 'SIGTERM');
      await c.stack.up();
      return Date.now();
    },
  },
  {
    name: 'sigterm',
    what: 'SIGTERM of the pipeline, restarted once it exited',
    async inject(c) {
      const at = Date.now();
      await c.pipeline().kill('SIGTERM');
      await c.restartPipeline();
      return at;
    },
  },
  {
    name: 'join-then-kill',
    what: 'a second pipeline process joins the groups, then is SIGKILLed',
    async inject(c) {
      const second = await c.startExtraPipeline();
      await sleep(8_000);
      await second.kill('SIGKILL');
      return Date.now();
    },
  },
];

const optionsSchema = z.strictObject({
  faults: z
    .string()
    .transform((s) => s.split(',').map((x) => x.trim()))
    .optional(),
  from: z.string().default('2013-01-01'),
  to: z.string().default('2016-12-31'),
  speed: z.coerce.number().positive().default(20),
  /** Seconds after the replay starts when the fault is injected. */
  faultAfter: z.coerce.number().positive().default(12),
  keepStack: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
  stateDir: z.string().default(join(ROOT, '.state', 'fault-stack')),
});

const USAGE = `
usage: npm run test:fault -- [--faults a,b] [--from DATE --to DATE] [--speed DAYS_PER_S] [--keep-stack]

Runs the fault suite on a stack of its own (state under .state/fault-stack, ports 3xxxx): a fault-free
replay of the slice, then one replay per fault, each compared with the fault-free one.

faults: ${FAULTS.map((f) => f.name).join(', ')} (default: all)
  --fault-after S   inject each fault S seconds into the replay (default 12)
  --keep-stack      leave the suite's stack running afterwards
`;

interface RunResult {
  fault: string;
  events: number;
  verdict: RunVerdict | null;
  recoveryS: number | null;
  caughtUpS: number | null;
  exits: number;
  nonJsonLines: number;
  notes: string[];
}

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'fault', usage: USAGE, options: optionsSchema }, argv, async (options) => {
    const faults = options.faults ? FAULTS.filter((f) => options.faults!.includes(f.name)) : FAULTS;
    const unknown = (options.faults ?? []).filter((n) => !FAULTS.some((f) => f.name === n));
    if (unknown.length > 0) throw new Error(`unknown faults: ${unknown.join(', ')}`);
    const stack = faultStack(options.stateDir);
    const runId = Date.now().toString(36);
    const logDir = join(options.stateDir, 'logs', `suite-${runId}`);
    mkdirSync(logDir, { recursive: true });
    const logger = createLogger({ logLevel: 'warn' });
    progress(`stack up (state ${options.stateDir})`);
    await stack.up();
    const rows = await readWeatherCsvFile(loadConfig().dataFile);
    const events = planReplay(rows, { from: options.from, to: options.to }).events;
    const days = planReplay(rows, { from: options.from, to: options.to }).days.length;
    const pace = Math.ceil((events / days) * options.speed);
    progress(
      `slice ${options.from}..${options.to}: ${events} observations over ${days} days at ${options.speed} days/s`,
    );

    const champion = await trainFixedChampion(rows, options.from);
    progress(`fixed champion ${champion.version} trained on ${champion.rows} rows`);
    const results: RunResult[] = [];
    let baseline: RunSnapshot | null = null;
    let steadyLag = 0;
    try {
      for (const fault of [null, ...faults]) {
        const name = fault?.name ?? 'none';
        progress(`run ${name}${fault ? `: ${fault.what}` : ' (fault-free)'}`);
        const outcome = await runOnce({
          stack,
          runId,
          name,
          fault,
          options,
          events,
          pace,
          logDir,
          logger,
          champion,
          steadyLag,
        });
        if (!fault) {
          baseline = outcome.snapshot;
          steadyLag = outcome.steadyLag;
          results.push({ ...outcome.result, verdict: null });
        } else {
          const verdict = judgeRun(baseline!, outcome.snapshot, JUDGED_TABLES);
          for (const [table, diff] of Object.entries(verdict.perTable)) {
            if (diff.examples.length > 0)
              outcome.result.notes.push(
                `${table}: lost ${diff.lost} extra ${diff.extra} differing ${diff.differing} of ${diff.expected}, e.g. ${diff.examples.join('; ')}`,
              );
          }
          results.push({ ...outcome.result, verdict });
        }
        progress(`run ${name} done`);
      }
    } finally {
      if (!options.keepStack) await stack.down().catch(() => undefined);
    }
    report(results, faults.length, logDir);
    return 0;
  });
  process.exit(process.exitCode ?? 0);
}

async function runOnce(o: {
  stack: FaultStack;
  runId: string;
  name: string;
  fault: Fault | null;
  options: z.infer<typeof optionsSchema>;
  events: number;
  pace: number;
  logDir: string;
  logger: Logger;
  champion: ModelRecord;
  /** The fault-free run's 95th percentile of lag (0 for that run itself). */
  steadyLag: number;
}): Promise<{ snapshot: RunSnapshot; result: Omit<RunResult, 'verdict'>; steadyLag: number }> {
  let steadyLag = 0;
  const slug = o.name.replace(/[^a-z0-9]/g, '_');
  const env: Record<string, string> = {
    ...o.stack.endpoints,
    TOPIC_PREFIX: `fault.${o.runId}.${slug}`,
    CLICKHOUSE_DATABASE: `fault_${o.runId}_${slug}`,
    REDIS_PREFIX: `fault:${o.runId}:${slug}`,
    TOPIC_PARTITIONS: '6',
    RETRAIN_ENABLED: 'false',
    LOG_LEVEL: 'info',
  };
  const config = loadConfig({ ...process.env, ...env });
  await runSetup(config, o.logger);
  const kafka = createKafka(config, o.logger);
  const clickhouse = createClickHouse(config.clickhouse);
  const redis = createRedis(config.redis);
  const codec: EventCodec = await registerEvents(createSchemaRegistry(config), config.topics);
  const producer = createProducer(kafka);
  await producer.connect();
  await installChampion(o.champion, { clickhouse, producer, codec, topics: config.topics });
  await producer.disconnect();
  const logFile = createWriteStream(join(o.logDir, `${slug}.log`));
  let nonJsonLines = 0;
  const output = (source: string) => (line: string) => {
    if (line.trim() === '') return;
    try {
      JSON.parse(line);
    } catch {
      nonJsonLines++;
    }
    logFile.write(`${source} ${line}\n`);
  };
  const pipelines: PipelineProcess[] = [];
  children.add(pipelines);
  let exits = 0;
  const launch = async (label: string) => {
    const p = await startPipelineProcess({ env, stages: STAGES, output: output(label) });
    pipelines.push(p);
    void p.exited.then((code) => {
      if (code !== 'SIGKILL' && code !== 0) exits++;
    });
    await p.waitReady(180_000);
    return p;
  };
  let current = await launch('pipeline');
  const sampler = await sampleLag(kafka, config);
  const notes: string[] = [];
  let faultEnd: number | null = null;
  try {
    const replay = spawnReplay(env, o.options, output('replay'), logFile);
    if (o.fault) {
      await sleep(o.options.faultAfter * 1000);
      faultEnd = await o.fault.inject({
        stack: o.stack,
        pipeline: () => current,
        restartPipeline: async () => (current = await launch('pipeline')),
        startExtraPipeline: () => launch('extra'),
        wipeRedis: async () => void (await deleteByPrefix(redis.client, redis.prefix)),
        log: (m) => notes.push(m),
      });
    }
    const replayExit = await replay;
    if (replayExit !== 0) notes.push(`replay exited ${replayExit}`);
    await waitForDrain(clickhouse, { predictions: o.events, stallMs: 180_000 });
    await pollUntil(
      () => (sampler.samples.at(-1) && totalLag(sampler.samples.at(-1)!) <= 3 * 6 ? true : null),
      {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: 'every stage to have committed everything',
      },
    );
    // Drift and its week closer come after the label join: their rows are judged too, so they must have
    // read everything before the snapshot is taken.
    const drift = lagProbe(kafka, restGroups(config, 'drift'));
    try {
      await pollUntil(() => drift.idle(), {
        timeoutMs: 120_000,
        intervalMs: 250,
        what: 'drift to have read everything',
      });
    } finally {
      await drift.close();
    }
  } catch (error) {
    // The run is judged on what it left anyway: what never arrived counts as lost.
    notes.push(`run did not complete: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await sampler.stop();
  }
  const samples: LagSample[] = sampler.samples;
  const takeover = faultEnd === null ? undefined : firstProgressAfter(samples, faultEnd);
  // Caught up: the lag is back to what it is without faults (its 95th percentile), or under one second
  // of input, whichever is larger. Commits come per batch, so even a pipeline with room to spare lags
  // by a few batches.
  const caughtUp =
    faultEnd === null ? undefined : caughtUpAfter(samples, faultEnd, Math.max(o.pace, o.steadyLag));
  if (faultEnd === null && samples.length > 0) {
    const lags = samples.map(totalLag).sort((a, b) => a - b);
    notes.push(
      `steady state without faults: lag p50 ${lags[Math.floor(lags.length / 2)]} p95 ${lags[Math.floor(lags.length * 0.95)]} records`,
    );
    steadyLag = lags[Math.floor(lags.length * 0.95)]!;
  }
  const snapshot = await snapshotRun({ config, kafka, codec, clickhouse, redis });
  for (const p of pipelines) await p.kill('SIGTERM');
  children.delete(pipelines);
  logFile.end();
  await clickhouse.close();
  await redis.close();
  await removeDeployment(config, o.logger).catch(() => undefined);
  return {
    snapshot,
    steadyLag,
    result: {
      fault: o.name,
      events: o.events,
      recoveryS: takeover && faultEnd !== null ? (takeover.at - faultEnd) / 1000 : null,
      caughtUpS: caughtUp && faultEnd !== null ? (caughtUp.at - faultEnd) / 1000 : null,
      exits,
      nonJsonLines,
      notes,
    },
  };
}

function spawnReplay(
  env: Record<string, string>,
  options: z.infer<typeof optionsSchema>,
  output: (line: string) => void,
  _log: WriteStream,
): Promise<number | string> {
  const child = spawn(
    process.execPath,
    [
      'ops/rainstream.ts',
      'replay',
      '--from',
      options.from,
      '--to',
      options.to,
      '--speed',
      String(options.speed),
      '--quiet',
    ],
    { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const lines = (rest + chunk).split('\n');
      rest = lines.pop()!;
      for (const line of lines) output(line);
    });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)));
}

function progress(message: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(1));

function report(results: readonly RunResult[], kinds: number, logDir: string): void {
  const header = [
    'fault',
    'events',
    'expected',
    'found',
    'lost',
    'duplicated',
    'differing',
    'recovery s',
    'caught up s',
  ];
  const rows = results.map((r) => [
    r.fault,
    String(r.events),
    String(r.verdict?.expected ?? '-'),
    String(r.verdict?.found ?? '-'),
    String(r.verdict?.lost ?? '-'),
    String(r.verdict?.duplicated ?? '-'),
    String(r.verdict?.differing ?? '-'),
    fmt(r.recoveryS),
    fmt(r.caughtUpS),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  console.log(`\ntest:fault — each run compared with the fault-free run (logs: ${logDir})\n`);
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`);
  for (const row of rows) console.log(line(row));
  console.log('');
  for (const r of results) {
    const topics = r.verdict
      ? Object.entries(r.verdict.perTopic)
          .map(([t, k]) => `${t} ${k.records}/${k.expectedRecords} dup ${k.duplicated}`)
          .join(', ')
      : '';
    console.log(
      `${r.fault}: ${topics}${r.exits ? `; unexpected exits ${r.exits}` : ''}; non-JSON lines ${r.nonJsonLines}`,
    );
    for (const note of r.notes) console.log(`  ${note}`);
  }
  const faultRuns = results.filter((r) => r.verdict !== null);
  const sum = (f: (r: RunResult) => number) => faultRuns.reduce((s, r) => s + f(r), 0);
  const maxRecovery = Math.max(0, ...faultRuns.map((r) => r.recoveryS ?? 0));
  const maxCaughtUp = Math.max(0, ...faultRuns.map((r) => r.caughtUpS ?? 0));
  const nonJson = results.reduce((s, r) => s + r.nonJsonLines, 0);
  const exits = results.reduce((s, r) => s + r.exits, 0);
  console.log(
    `\nfaults: kinds=${kinds} runs=${faultRuns.length} lost=${sum((r) => r.verdict!.lost)} duplicated=${sum((r) => r.verdict!.duplicated)} differing=${sum((r) => r.verdict!.differing)} max_recovery_s=${maxRecovery.toFixed(1)} max_caught_up_s=${maxCaughtUp.toFixed(1)} unexpected_exits=${exits} non_json_lines=${nonJson}`,
  );
}

if (import.meta.main) await main(process.argv.slice(2));
