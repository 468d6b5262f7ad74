/**
 * bench:pipeline — the full file (145,460 observations) replayed as fast as Kafka takes it through every
 * stage into ClickHouse, retraining off; in the same run Kafka's ProducerPerformance for the same record
 * count, the ceiling of getting those records into the broker at all. Reports wall time from first
 * produce to last ClickHouse row, events/s per stage, end-to-end lag (observation in Kafka → prediction).
 * Then, in a deployment of its own, the last months of the file replayed paced at 1,000 events/s, so
 * that the lag measured there is the pipeline's latency, not queueing behind a flood (paced_lag_p99_ms).
 * The replays run as the product's `replay` command in a process of their own, as an operator runs them:
 * this process holds the pipeline (in its threads) and no copy of the file, so its peak RSS is the
 * pipeline's.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { ensureTopics } from '../lib/platform/kafka/admin.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import type { ReplaySummary } from '../producers/replay/replay.ts';
import { waitForDrain } from '../lib/deployment/drain.ts';
import { benchDeployment, ROOT } from './lib/deployment.ts';
import { fmt, formatTable, peakRssMb, phaseRows, progress, summaryLine } from './lib/report.ts';
import { removeDeployment } from '../lib/deployment/teardown.ts';
import { predictionLagQuantiles } from '../lib/platform/clickhouse/queries/pipeline.ts';
import { startPipelineThreads, TWO_THREADS } from '../consumers/host/threads.ts';

/**
 * How the stages are hosted: BENCH_PIPELINE_THREADS=1 puts every stage on one event loop, as `rainstream
 * pipeline` does by default; 2 (default here) splits them as its `--threads 2`.
 */
const THREAD_GROUPS = process.env.BENCH_PIPELINE_THREADS === '1' ? [TWO_THREADS.flat()] : TWO_THREADS;

/** The paced replay: rate, and the slice of the file it replays (about 13,000 events, 13 s). */
const PACED_EVENTS_PER_S = 1_000;
const PACED_FROM = '2016-10-01';

/**
 * The class path of Kafka's jars from ops/stack, which installs this checkout's pom when they are
 * missing: the broker may belong to another checkout's stack, whose .state is not ours to read.
 */
function kafkaClasspath(): string {
  const r = spawnSync('bash', ['ops/stack', 'kafka-classpath'], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 2],
  });
  const classpath = r.stdout?.trim().split('\n').at(-1);
  if (r.status !== 0 || !classpath) throw new Error('ops/stack kafka-classpath failed');
  return classpath;
}

/**
 * `rainstream replay` with `args`, in a process of its own with the deployment's `env`; resolves with the
 * summary it prints last (its JSON log lines, at warn, come before it).
 */
function replayProcess(env: Record<string, string>, args: readonly string[]): Promise<ReplaySummary> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['ops/rainstream.ts', 'replay', '--quiet', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      const last = out.trim().split('\n').at(-1) ?? '';
      if (code !== 0 || !last.startsWith('{"events"')) {
        reject(new Error(`replay exited with ${code}: ${last.slice(0, 300)}`));
        return;
      }
      resolve(JSON.parse(last) as ReplaySummary);
    });
  });
}

/** Kafka's own ProducerPerformance, same machine, same broker, same record count: the ceiling. */
function producerPerformance(
  brokers: string,
  topic: string,
  records: number,
): { seconds: number; line: string } {
  const classpath = kafkaClasspath();
  const started = performance.now();
  const r = spawnSync(
    'java',
    [
      '-Xmx512m',
      '-cp',
      classpath,
      // Client logs to stderr, warnings only: stdout carries ProducerPerformance's own report.
      `-Dlog4j2.configurationFile=${ROOT}ops/kafka/tools-log4j2.properties`,
      'org.apache.kafka.tools.ProducerPerformance',
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--record-size',
      '200',
      '--throughput',
      '-1',
      // --producer-props until Kafka 4; the jars are always this checkout's pom, so 4.x.
      '--command-property',
      `bootstrap.servers=${brokers}`,
      'acks=all',
      'enable.idempotence=true',
      'linger.ms=5',
    ],
    { encoding: 'utf8' },
  );
  const seconds = (performance.now() - started) / 1000;
  if (r.status !== 0) throw new Error(`ProducerPerformance failed: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return { seconds, line };
}

/** Quantile of sorted samples (nearest rank below), NaN when there are none. */
function quantileOf(sorted: Float64Array, q: number): number {
  return sorted.length ? sorted[Math.floor(q * (sorted.length - 1))]! : NaN;
}

interface PacedResult {
  events: number;
  seconds: number;
  eventsPerS: number;
  lagP50: number;
  lagP99: number;
}

/**
 * The tail of the file, replayed at PACED_EVENTS_PER_S through a fresh pipeline in a deployment of its
 * own. The replay paces whole days (one send per day, then a wait), so the rate is an average with
 * bursts of one day's stations (about 49 events).
 */
async function pacedRun(): Promise<PacedResult> {
  const { config, logger, env } = await benchDeployment('paced', { RETRAIN_ENABLED: 'false' });
  try {
    const pipeline = await startPipelineThreads(config, THREAD_GROUPS);
    const clickhouse = createClickHouse(config.clickhouse);
    progress(`paced: the file from ${PACED_FROM} at ${PACED_EVENTS_PER_S} events/s`);
    const summary = await replayProcess(env, [
      '--from',
      PACED_FROM,
      '--events-per-s',
      String(PACED_EVENTS_PER_S),
    ]);
    await waitForDrain(clickhouse, { predictions: summary.events, pollMs: 200 });
    const final = await pipeline.stop();
    await clickhouse.close();
    const lag = Float64Array.from(final.samples.prediction_lag_ms ?? []).sort();
    return {
      events: summary.events,
      seconds: summary.seconds,
      eventsPerS: summary.events / summary.seconds,
      lagP50: quantileOf(lag, 0.5),
      lagP99: quantileOf(lag, 0.99),
    };
  } finally {
    await removeDeployment(config, logger);
  }
}

const { config, logger, id, env } = await benchDeployment('pipeline', { RETRAIN_ENABLED: 'false' });

try {
  const pipeline = await startPipelineThreads(config, THREAD_GROUPS);
  const clickhouse = createClickHouse(config.clickhouse);

  // Stage completion times, from the stages' own counters.
  const stageTotals: Record<string, (c: Record<string, number>) => number> = {
    features: (c) => sumPrefix(c, 'features_events'),
    predictor: (c) => c.predictions ?? 0,
    labeler: (c) => sumPrefix(c, 'labeler_events'),
    drift: (c) => sumPrefix(c, 'drift_examples'),
  };
  const sumPrefix = (c: Record<string, number>, prefix: string) =>
    Object.entries(c).reduce((s, [k, v]) => (k.startsWith(prefix) ? s + v : s), 0);
  // Epoch milliseconds: the replay runs in another process and says when it produced its first record.
  const lastChange: Record<string, { at: number; value: number }> = {};
  const sampler = setInterval(() => {
    const counters = pipeline.counters();
    const now = Date.now();
    for (const [stage, total] of Object.entries(stageTotals)) {
      const value = total(counters);
      if (lastChange[stage]?.value !== value) lastChange[stage] = { at: now, value };
    }
  }, 50);

  progress(`replaying ${config.dataFile} as fast as possible (retraining off), in a process of its own`);
  const summary = await replayProcess(env, ['--speed', '0']);
  const t0 = summary.firstProducedAt ?? Date.now();
  const producedS = summary.seconds;
  progress(`produced ${summary.events} observations in ${producedS.toFixed(2)} s; waiting for ClickHouse`);
  const counts = await waitForDrain(clickhouse, { predictions: summary.events, pollMs: 200 });
  // waitForDrain returns a second after the last change; the wall time ends at the last change.
  const drainedAt = Math.max(...Object.values(lastChange).map((c) => c.at));
  clearInterval(sampler);
  const wallS = (drainedAt - t0) / 1000;
  const lag = await predictionLagQuantiles(clickhouse);
  const final = await pipeline.stop();
  await clickhouse.close();
  const lagSamples = final.samples.prediction_lag_ms ?? new Float64Array(0);
  const sortedLag = Float64Array.from(lagSamples).sort();
  const lagP99 = sortedLag.length ? sortedLag[Math.floor(0.99 * (sortedLag.length - 1))]! : Number(lag?.p99);
  const lagP50 = sortedLag.length ? sortedLag[Math.floor(0.5 * (sortedLag.length - 1))]! : Number(lag?.p50);

  progress(`ProducerPerformance: ${summary.events} records of 200 bytes, acks=all, idempotent`);
  const perfTopic = `bench-pipeline-${id}-perf`;
  // Same partition count as the observations topic; the broker does not auto-create topics.
  const perfKafka = createKafka(config, logger);
  await ensureTopics(perfKafka, [
    { topic: perfTopic, numPartitions: config.topicPartitions, replicationFactor: 1, configEntries: {} },
  ]);
  const perf = producerPerformance(config.kafka.brokers.join(','), perfTopic, summary.events);
  const admin = perfKafka.admin();
  await admin.connect();
  await admin.deleteTopics({ topics: [perfTopic] }).catch(() => undefined);
  await admin.disconnect();

  const paced = await pacedRun();

  const stageRows = Object.entries(stageTotals).map(([stage]) => {
    const done = lastChange[stage];
    const seconds = done ? (done.at - t0) / 1000 : NaN;
    return [stage, done?.value ?? 0, fmt(seconds, 2), fmt((done?.value ?? 0) / seconds, 0)];
  });
  console.log(
    `\nbench:pipeline — ${summary.events} observations, every stage in one process ` +
      `(${THREAD_GROUPS.length} thread${THREAD_GROUPS.length === 1 ? '' : 's'}), retraining off\n`,
  );
  console.log(
    formatTable(
      ['stage', 'events', 'done after s', 'events/s'],
      [
        ['replay producer', summary.events, fmt(producedS, 2), fmt(summary.events / producedS, 0)],
        ...stageRows,
      ],
    ),
  );
  console.log('');
  console.log(
    formatTable(
      ['figure', 'value'],
      [
        ['wall s (first produce → last ClickHouse row)', fmt(wallS, 2)],
        ['events/s end to end', fmt(summary.events / wallS, 0)],
        ['predictions in ClickHouse', counts.predictions],
        ['labels joined in ClickHouse', counts.labeled_examples],
        ['lag observation → prediction p50 ms', fmt(lagP50, 0)],
        ['lag observation → prediction p99 ms', fmt(lagP99, 0)],
        ['Kafka ProducerPerformance s (same count, JVM start incl.)', fmt(perf.seconds, 2)],
        ['ratio wall / ProducerPerformance', fmt(wallS / perf.seconds, 2)],
        [`paced replay from ${PACED_FROM}: events`, paced.events],
        ['paced replay events/s (whole days per send)', fmt(paced.eventsPerS, 0)],
        ['paced lag observation → prediction p50 ms', fmt(paced.lagP50, 0)],
        ['paced lag observation → prediction p99 ms', fmt(paced.lagP99, 0)],
        ['peak RSS MB (this process: the pipeline, replays in their own)', fmt(peakRssMb(), 0)],
      ],
    ),
  );
  console.log('');
  console.log(formatTable(['stage', 'phase', 'busy s', 'share of stage'], phaseRows(final.counters)));
  console.log(
    '(busy s: summed over the partitions a stage works at once, so it can exceed the wall time; the\n' +
      ' sinks run beside the transaction sends, so sinks+tx-send is the longer of the two)',
  );
  console.log(`\nProducerPerformance said: ${perf.line}`);
  console.log(
    summaryLine('pipeline', {
      events: summary.events,
      wall_s: wallS,
      events_per_s: summary.events / wallS,
      producer_perf_s: perf.seconds,
      ratio: wallS / perf.seconds,
      predictions: counts.predictions,
      labels_joined: counts.labeled_examples,
      lag_p99_ms: lagP99,
      lag_p50_ms: lagP50,
      paced_lag_p99_ms: paced.lagP99,
      paced_lag_p50_ms: paced.lagP50,
      paced_events: paced.events,
      produce_s: producedS,
      peak_rss_mb: peakRssMb(),
    }),
  );
} finally {
  progress('removing the bench deployment');
  await removeDeployment(config, logger);
}
