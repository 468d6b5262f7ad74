/**
 * npm run bench:api — serving throughput (BENCH.md): autocannon (-c 50 -d 8) against
 *   - a bare Fastify route returning {ok:true}, the anchor;
 *   - `GET /predict?location=…` over the 49 stations (the stored JSON passed through, from the API's cache
 *     of Redis reads, which Redis invalidates: api/services/tracked-cache.ts);
 *   - `POST /predict` with each station's next-day observation (the station's window from that cache,
 *     features, a 300-tree GBDT);
 * in the same run (the bare route before and after the API, averaged), each server in a child process
 * started the same way (same Node, flags, Fastify options, logger), autocannon in this process.
 *
 * The API runs with everything switched on, as `rainstream api` runs it: Kafka producer and admin client,
 * champion source, helmet (security headers, CSP), rate limiting, under-pressure, the zod validator and
 * serializer, the request histogram and process metrics, the DLQ tally, admin routes enabled. Only the rate
 * limit is raised (RATE_LIMIT_PER_MINUTE), since all 50 connections come from one client address; the
 * limiter still counts every request. The deployment (topics, Redis prefix, ClickHouse database) is a
 * throw-away one, seeded from the weatherAUS file and removed at the end. Table on stdout, progress on
 * stderr, summary line last.
 *
 * The same file is the child: `node bench/api.ts --child bare|api <model-file>`, its deployment in its env.
 * `BENCH_CHILD_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"` passes Node flags to the servers (profiling).
 * `bare_p99_ms` is the anchor's p99 in the same run: on a shared machine the tail is mostly the machine's.
 */
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify, { type FastifyInstance } from 'fastify';
import { apiServerOptions, apiSettingsOf, buildApp } from '../api/app.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createMetrics } from '../lib/platform/metrics.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { registerEvents } from '../lib/domain/events.ts';
import { removeDeployment } from '../lib/deployment/teardown.ts';
import { benchDeployment } from './lib/deployment.ts';
import { fixedChampionSource, type Champion, prepareChampion } from '../lib/models/champion.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { loadConfig } from '../lib/platform/config.ts';
import type { Observation } from '../lib/domain/events.ts';
import {
  FEATURE_NAMES,
  FEATURE_SET_VERSION,
  STATIONS,
  buildTrainingMatrix,
  type StationState,
} from '../lib/domain/features/index.ts';
import { createLogger } from '../lib/platform/log.ts';
import { loadModel } from '../lib/ml/families.ts';
import { gbdtFamily } from '../lib/ml/gbdt.ts';
import type { ModelArtifact } from '../lib/ml/model.ts';
import { createRedis, deleteByPrefix } from '../lib/platform/redis.ts';
import { STATE_KEYS } from '../lib/domain/state-keys.ts';
import { addDays } from '../lib/domain/time.ts';
import { readWeatherCsvFile } from '../lib/domain/weather/csv.ts';
import { predictStep, latestForecastOf } from '../consumers/predictor/step.ts';
import { fmt, formatTable, progress, summaryLine } from './lib/report.ts';
import { featuresStep } from '../consumers/features/step.ts';

const CONNECTIONS = 50;
const DURATION_S = 8;
/** Each measurement is preceded by this much load, unmeasured, so the JIT has compiled the hot path. */
const WARMUP_S = 2;
/** Training rows: the days before this (about 27,000 rows, a few seconds), 300 rounds without early stopping. */
const TRAIN_BEFORE = '2010-07-01';
const THRESHOLD = 0.5;
const REPO = fileURLToPath(new URL('../', import.meta.url));

type ChildKind = 'bare' | 'api';

// ---------------------------------------------------------------- child

async function runChild(kind: ChildKind, modelFile: string): Promise<void> {
  const config = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  const logger = createLogger(config, undefined, { service: `bench-${kind}` });
  let app: FastifyInstance;
  if (kind === 'bare') {
    const bare = Fastify(apiServerOptions(logger)) as unknown as FastifyInstance;
    bare.get('/', async () => ({ ok: true }));
    app = bare;
  } else {
    const artifact = JSON.parse(readFileSync(modelFile, 'utf8')) as ModelArtifact;
    const champion: Champion = {
      version: 'bench-gbdt',
      family: artifact.family,
      featureSetVersion: FEATURE_SET_VERSION,
      model: loadModel(artifact, FEATURE_NAMES),
      clip: null,
      trainedUntil: addDays(TRAIN_BEFORE, -1),
    };
    const kafka = createKafka(config, logger, { clientId: 'bench-api' });
    const producer = createProducer(kafka);
    await producer.connect();
    const codec = await registerEvents(createSchemaRegistry(config), config.topics);
    app = buildApp(
      {
        redis: createRedis(config.redis, { connectionName: 'bench-api' }),
        clickhouse: createClickHouse(config.clickhouse),
        champions: fixedChampionSource(champion),
        decisionThreshold: THRESHOLD,
        kafka: { kafka, producer, codec, registryUrl: config.registry.url },
        settings: apiSettingsOf(config),
        metrics: createMetrics({ processMetrics: true }),
      },
      { logger },
    );
  }
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  process.send!({ port: address.port });
  process.on('message', (message) => {
    if (message === 'close') void app.close().then(() => process.exit(0));
    if (message === 'cpu') {
      const { user, system } = process.cpuUsage();
      process.send!({ cpuUs: user + system });
    }
  });
  process.on('disconnect', () => void app.close().then(() => process.exit(0)));
}

// ---------------------------------------------------------------- parent

interface Seed {
  gets: autocannon.Request[];
  posts: autocannon.Request[];
  keys: number;
}

interface Measurement {
  name: string;
  rps: number;
  p50: number;
  p99: number;
  total: number;
  non2xx: number;
  errors: number;
  /** CPU time the server process spent per request (user + system): less sensitive to other load than req/s. */
  cpuUsPerRequest: number;
}

async function stackReachable(config: ReturnType<typeof loadConfig>): Promise<boolean> {
  const clickhouse = createClickHouse(config.clickhouse, { database: 'default', requestTimeoutMs: 3000 });
  const redis = createRedis(config.redis);
  try {
    const [ch, rd] = await Promise.all([
      clickhouse.ping().catch(() => false),
      redis.client.ping().then(
        (r) => r === 'PONG',
        () => false,
      ),
    ]);
    return ch && rd;
  } finally {
    await Promise.allSettled([clickhouse.close(), redis.close()]);
  }
}

/** Station-grouped observations of the file, each station in date order. */
function byStation(observations: readonly Observation[]): Map<string, Observation[]> {
  const out = new Map<string, Observation[]>();
  for (const o of observations) {
    let list = out.get(o.location);
    if (!list) out.set(o.location, (list = []));
    list.push(o);
  }
  for (const list of out.values()) list.sort((a, b) => (a.date < b.date ? -1 : a.date > b.date ? 1 : 0));
  return out;
}

/**
 * For every station: its StationState and LatestForecast after its whole history (what the stream would
 * hold), written under `prefix`; and the requests: GET each station, POST its next day's observation
 * (its last day's readings, dated a day later).
 */
async function seed(
  stations: Map<string, Observation[]>,
  champion: Champion,
  redis: ReturnType<typeof createRedis>,
): Promise<Seed> {
  const prepared = prepareChampion(champion);
  const pipeline = redis.client.pipeline();
  const gets: autocannon.Request[] = [];
  const posts: autocannon.Request[] = [];
  let keys = 0;
  for (const location of STATIONS) {
    const history = stations.get(location);
    if (!history || history.length === 0) continue;
    let state: StationState | null = null;
    let last = null;
    for (const obs of history) {
      const step = featuresStep(state, obs, 0);
      state = step.state;
      if (step.output) last = step.output;
    }
    if (!state || !last) continue;
    const prediction = predictStep(last, prepared, THRESHOLD, Date.now());
    pipeline.set(redis.key(...STATE_KEYS.station(location)), JSON.stringify(state));
    pipeline.set(redis.key(...STATE_KEYS.latest(location)), JSON.stringify(latestForecastOf(prediction)));
    keys += 2;
    gets.push({ method: 'GET', path: `/predict?location=${location}` });
    const next: Partial<Observation> = {
      ...history[history.length - 1]!,
      date: addDays(state.lastDate, 1),
      source: 'bench',
    };
    posts.push({
      method: 'POST',
      path: '/predict',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(next),
    });
  }
  await pipeline.exec();
  return { gets, posts, keys };
}

interface Server {
  child: ChildProcess;
  port: number;
}

function startChild(kind: ChildKind, env: Record<string, string>, modelFile: string): Promise<Server> {
  const child = fork(fileURLToPath(import.meta.url), ['--child', kind, modelFile], {
    execArgv: process.env.BENCH_CHILD_ARGS?.split(' ').filter((a) => a !== '') ?? [],
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('exit', (code) =>
      reject(new Error(`${kind} server exited with code ${code} before listening`)),
    );
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send('close');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

async function load(
  url: string,
  requests: autocannon.Request[],
  durationS: number,
): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, duration: durationS, requests });
}

/** The child's CPU time so far, in microseconds. */
function cpuOf(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    const onMessage = (m: unknown) => {
      if (typeof m === 'object' && m !== null && 'cpuUs' in m) {
        child.off('message', onMessage);
        resolve((m as { cpuUs: number }).cpuUs);
      }
    };
    child.on('message', onMessage);
    child.send('cpu');
  });
}

async function measure(name: string, server: Server, requests: autocannon.Request[]): Promise<Measurement> {
  const url = `http://127.0.0.1:${server.port}`;
  progress(`${name}: ${WARMUP_S} s warm-up, then ${DURATION_S} s at ${CONNECTIONS} connections`);
  await load(url, requests, WARMUP_S);
  const cpuBefore = await cpuOf(server.child);
  const r = await load(url, requests, DURATION_S);
  const cpuUs = (await cpuOf(server.child)) - cpuBefore;
  return {
    cpuUsPerRequest: cpuUs / r.requests.total,
    name,
    rps: r.requests.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    total: r.requests.total,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
  };
}

/** A figure is reported only when every request of its run succeeded. */
function clean(m: Measurement | undefined): boolean {
  return m !== undefined && m.non2xx === 0 && m.errors === 0 && m.total > 0;
}

async function checkApi(port: number, seeded: Seed): Promise<void> {
  const url = `http://127.0.0.1:${port}`;
  const ready = await fetch(`${url}/ready`);
  if (!ready.ok) throw new Error(`API not ready: ${await ready.text()}`);
  const get = await fetch(`${url}${seeded.gets[0]!.path}`);
  const post = await fetch(`${url}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: seeded.posts[0]!.body as string,
  });
  if (!get.ok || !post.ok)
    throw new Error(`API check failed: GET ${get.status}, POST ${post.status} ${await post.text()}`);
  progress(`sample POST /predict → ${JSON.stringify(await post.json())}`);
}

/** The rate limit of the benchmarked API: above what one client at 50 connections can send in a minute. */
const BENCH_RATE_LIMIT_PER_MINUTE = 100_000_000;

async function runParent(): Promise<void> {
  const probe = loadConfig({ ...process.env, LOG_LEVEL: 'warn' });
  let startedStack = false;
  if (!(await stackReachable(probe))) {
    progress('Redis or ClickHouse not answering: bash ops/stack up');
    execFileSync('bash', ['ops/stack', 'up'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
    startedStack = true;
  }
  const env = {
    RATE_LIMIT_PER_MINUTE: String(BENCH_RATE_LIMIT_PER_MINUTE),
    ADMIN_TOKEN: randomBytes(24).toString('hex'),
  };
  const { config, logger, id } = await benchDeployment('api', env);
  const childEnv = {
    ...env,
    TOPIC_PREFIX: `bench-api-${id}`,
    REDIS_PREFIX: config.redis.prefix,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
  };
  const prefix = config.redis.prefix;
  const redis = createRedis(config.redis);
  const dir = mkdtempSync(join(tmpdir(), 'rainstream-bench-api-'));
  const modelFile = join(dir, 'model.json');
  const children: ChildProcess[] = [];
  const results: Measurement[] = [];
  let trainRows = 0;
  let seeded: Seed | undefined;
  try {
    progress(`reading ${config.dataFile}`);
    const rows = await readWeatherCsvFile(config.dataFile);
    const observations = rows.flatMap((r) => (r.ok ? [r.observation] : []));
    const stations = byStation(observations);

    progress(`training the champion: GBDT, 300 rounds, days before ${TRAIN_BEFORE}`);
    const matrix = buildTrainingMatrix(observations.filter((o) => o.date < TRAIN_BEFORE));
    trainRows = matrix.dataset.nRows;
    const model = gbdtFamily.fit(
      matrix.dataset,
      matrix.target,
      'classification',
      { maxIterations: 300, earlyStoppingRounds: 0, validationFraction: 0 },
      { seed: 1 },
    );
    writeFileSync(modelFile, JSON.stringify(model.toJSON()));
    const champion: Champion = {
      version: 'bench-gbdt',
      family: 'gbdt',
      featureSetVersion: FEATURE_SET_VERSION,
      model,
      clip: null,
      trainedUntil: null,
    };

    progress(`seeding ${STATIONS.length} stations under ${prefix}:`);
    seeded = await seed(stations, champion, redis);

    // The anchor is measured before and after the API and averaged: on a shared machine the load drifts
    // over the minute a run takes, and bracketing spreads that drift evenly over both sides of the ratio.
    const bare = await startChild('bare', childEnv, modelFile);
    children.push(bare.child);
    const bareRoute: autocannon.Request[] = [{ method: 'GET', path: '/' }];
    results.push(await measure('bare GET / {ok:true}, before', bare, bareRoute));

    const api = await startChild('api', childEnv, modelFile);
    children.push(api.child);
    await checkApi(api.port, seeded);
    results.push(await measure('api GET /predict?location=…', api, seeded.gets));
    results.push(await measure('api POST /predict', api, seeded.posts));
    await stopChild(api.child);

    results.push(await measure('bare GET / {ok:true}, after', bare, bareRoute));
    await stopChild(bare.child);
  } finally {
    await Promise.allSettled(children.map(stopChild));
    const deleted = await deleteByPrefix(redis.client, prefix).catch(() => 0);
    progress(`deleted ${deleted} Redis keys under ${prefix}:`);
    await redis.close();
    await removeDeployment(config, logger).catch((error: unknown) =>
      progress(`teardown failed: ${String(error)}`),
    );
    rmSync(dir, { recursive: true, force: true });
    if (startedStack)
      execFileSync('bash', ['ops/stack', 'down'], { cwd: REPO, stdio: ['ignore', 'inherit', 'inherit'] });
  }

  const [bareBefore, get, post, bareAfter] = results;
  const bareRps = clean(bareBefore) && clean(bareAfter) ? (bareBefore!.rps + bareAfter!.rps) / 2 : null;
  const ratio = (m: Measurement | undefined) => (bareRps !== null && clean(m) ? m!.rps / bareRps : null);
  console.log(
    `bench api: Node ${process.version}, ${availableParallelism()} CPUs; autocannon -c ${CONNECTIONS} -d ${DURATION_S} ` +
      `(after ${WARMUP_S} s warm-up) in this process, each server in a child; ${seeded?.gets.length ?? 0} stations ` +
      `seeded; champion GBDT 300 rounds on ${trainRows} rows before ${TRAIN_BEFORE}`,
  );
  console.log(
    formatTable(
      [
        'target',
        'req/s',
        'vs bare mean',
        'p50 ms',
        'p99 ms',
        'server CPU us/req',
        'requests',
        'non-2xx',
        'errors',
      ],
      results.map((m) => [
        m.name,
        fmt(m.rps, 0),
        fmt(ratio(m), 3),
        fmt(m.p50, 1),
        fmt(m.p99, 1),
        fmt(m.cpuUsPerRequest, 1),
        m.total,
        m.non2xx,
        m.errors,
      ]),
    ),
  );
  const failed = results.filter((m) => !clean(m));
  for (const m of failed)
    console.log(`${m.name}: left out of the summary (${m.non2xx} non-2xx, ${m.errors} errors)`);
  console.log(
    summaryLine('api', {
      bare_rps: bareRps === null ? null : Math.round(bareRps),
      bare_before_rps: clean(bareBefore) ? Math.round(bareBefore!.rps) : null,
      bare_after_rps: clean(bareAfter) ? Math.round(bareAfter!.rps) : null,
      get_rps: clean(get) ? Math.round(get!.rps) : null,
      get_ratio: ratio(get),
      get_p99_ms: clean(get) ? get!.p99 : null,
      bare_p99_ms: clean(bareBefore) && clean(bareAfter) ? (bareBefore!.p99 + bareAfter!.p99) / 2 : null,
      post_rps: clean(post) ? Math.round(post!.rps) : null,
      post_ratio: ratio(post),
      post_p99_ms: clean(post) ? post!.p99 : null,
      bare_cpu_us:
        clean(bareBefore) && clean(bareAfter)
          ? (bareBefore!.cpuUsPerRequest + bareAfter!.cpuUsPerRequest) / 2
          : null,
      get_cpu_us: clean(get) ? get!.cpuUsPerRequest : null,
      post_cpu_us: clean(post) ? post!.cpuUsPerRequest : null,
    }),
  );
}

if (process.argv[2] === '--child') {
  const kind = process.argv[3];
  if (kind !== 'bare' && kind !== 'api') throw new Error(`unknown child kind ${kind}`);
  await runChild(kind, process.argv[4]!);
} else {
  await runParent();
}
