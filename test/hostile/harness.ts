/**
 * Sends the hostile corpus (./corpus.ts) to a real deployment and checks every outcome from the outside:
 * the pipeline and the API run as child processes (`rainstream pipeline`, `rainstream api`), CSV rows go
 * through `rainstream replay --file`, raw records straight onto the topics, requests over HTTP. Then it
 * reads what a user or operator would: the DLQ topic, the observations topic, ClickHouse, Redis, the
 * processes' exit states. Used by `npm run check:hostile` (ops/check-hostile.ts) and the integration test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { readFileSync } from 'node:fs';
import { registerEvents, type EventCodec } from '../../lib/domain/events.ts';
import { loadStationRegistry, type StationRegistry } from '../../lib/domain/stations.ts';
import { addDays, isCalendarDate, utcDateOf } from '../../lib/domain/time.ts';
import { parseWeatherCsv } from '../../lib/domain/weather/csv.ts';
import type { Observation } from '../../lib/domain/weather/observation.ts';
import { observationRules } from '../../lib/domain/weather/validation.ts';
import { runSetup } from '../../lib/deployment/setup.ts';
import { createClickHouse, type ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import { isTaskName } from '../../lib/models/tasks.ts';
import { quoteString } from '../../lib/platform/clickhouse/sql.ts';
import { loadConfig, type Config } from '../../lib/platform/config.ts';
import { createKafka, type Kafka } from '../../lib/platform/kafka/client.ts';
import { runBatchConsumer, type ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { readDlqHeaders, type DlqHeaders } from '../../lib/platform/kafka/dlq.ts';
import { createProducer } from '../../lib/platform/kafka/producer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { createRedis, type RedisHandle } from '../../lib/platform/redis.ts';
import { createSchemaRegistry } from '../../lib/platform/schema-registry.ts';
import {
  hostileCorpus,
  WARM_UP,
  type CsvCase,
  type HostileCase,
  type HttpCase,
  type KafkaCase,
} from './corpus.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface CaseResult {
  id: string;
  kind: HostileCase['kind'];
  title: string;
  expected: string;
  observed: string;
  /** The observed outcome is the expected one. */
  ok: boolean;
  dlqWithReason: boolean;
  http4xx: boolean;
  acceptedValid: boolean;
  http5xx: boolean;
  /** Neither rejected (DLQ, 4xx) nor accepted: gone without a trace. */
  silentDrop: boolean;
}

export interface HostileSummary {
  cases: number;
  dlq_with_reason: number;
  http_4xx: number;
  accepted_valid: number;
  crashes: number;
  silent_drops: number;
  corrupted: number;
  http_5xx: number;
  /** Cases whose outcome was not the expected one (wrong field, accepted instead of rejected...). */
  mismatches: number;
}

export interface HostileReport {
  results: CaseResult[];
  crashes: string[];
  corrupted: string[];
  summary: HostileSummary;
}

export interface HostileOptions {
  /** The deployment's environment (endpoints, TOPIC_PREFIX, REDIS_PREFIX, CLICKHOUSE_DATABASE...). */
  env: Record<string, string>;
  logger: Logger;
  /** How long to wait for every outcome after the last input; default 120 s. */
  settleMs?: number;
  /** Also the cases waiting for another engineer's work (corpus `pendingOn`). */
  includePending?: boolean;
  progress?: (message: string) => void;
}

/** A child process of ours, with the tail of its output kept for the report. */
interface Child {
  name: string;
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function startChild(name: string, args: string[], env: Record<string, string>): Child {
  const child = spawn(process.execPath, ['ops/rainstream.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  const keep = (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-64 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { name, process: child, output: () => tail, exited };
}

async function stopChild(child: Child): Promise<void> {
  if (child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = setTimeout(() => child.process.kill('SIGKILL'), 15_000);
  await child.exited;
  clearTimeout(timer);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function poll<T>(what: string, check: () => Promise<T | null | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => null);
    if (value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Everything on a topic so far, kept up to date by a consumer of a private group. */
async function follow(kafka: Kafka, logger: Logger, topics: string[], groupId: string) {
  const records: ConsumedRecord[] = [];
  const consumer = await runBatchConsumer({
    kafka,
    logger,
    groupId,
    topics,
    fromBeginning: true,
    maxWaitTimeMs: 200,
    handleBatch: async (batch) => {
      records.push(...batch);
    },
  });
  return { records, stop: () => consumer.stop() };
}

function expectedText(c: HostileCase): string {
  const e = c.expect;
  switch (e.outcome) {
    case 'dlq':
      return `DLQ ${e.field || '-'}${e.kind ? ` (${e.kind})` : ''}${e.stage ? ` by ${e.stage}` : ''}`;
    case 'accepted':
      return `accepted ${e.location} ${e.date}`;
    case 'duplicate':
      return `no-op repeat ${e.location} ${e.date}`;
    case 'http':
      return `HTTP ${e.status}${e.field ? ` ${e.field}` : ''}`;
  }
}

/** The readings and the day, not where they were read (source, sourcePosition: the file's line). */
const sameObservation = (a: Observation, b: Observation) =>
  JSON.stringify({ ...a, source: '', sourcePosition: null }) ===
  JSON.stringify({ ...b, source: '', sourcePosition: null });

/**
 * Runs the whole check on the deployment `options.env` names (which must exist only for this run: its
 * topics, groups, keys and database are written to). The caller removes the deployment afterwards.
 */
export async function runHostileCheck(options: HostileOptions): Promise<HostileReport> {
  const say = options.progress ?? (() => undefined);
  const { logger } = options;
  const apiPort = await freePort();
  const env = { LOG_LEVEL: 'warn', RETRAIN_ENABLED: 'false', ...options.env, API_PORT: String(apiPort) };
  const config: Config = loadConfig(env);
  const stations: StationRegistry = loadStationRegistry(config.openMeteo.stationsFile);
  const now = Date.now();
  const horizonEnd = addDays(utcDateOf(now), config.eventTime.horizonDays);

  say(`setup: topics ${config.topics.observations} ..., database ${config.clickhouse.database}`);
  await runSetup(config, logger);
  const kafka = createKafka(config, logger, { clientId: 'rainstream-hostile' });
  const codec: EventCodec = await registerEvents(createSchemaRegistry(config), config.topics);
  const clickhouse: ClickHouse = createClickHouse(config.clickhouse);
  const redis: RedisHandle = createRedis(config.redis);
  const producer = createProducer(kafka);
  await producer.connect();
  const children: Child[] = [];
  const crashes: string[] = [];
  const workDir = mkdtempSync(join(tmpdir(), 'rainstream-hostile-'));
  const dlqTopic = config.topics.observationsDlq;
  const watched = await follow(
    kafka,
    logger,
    [dlqTopic, config.topics.observations],
    `${config.groupPrefix}.hostile-reader`,
  );

  try {
    say('pipeline (features, predictor, labeler, drift) and API as child processes');
    const pipeline = startChild(
      'pipeline',
      ['pipeline', '--stages', 'features,predictor,labeler,drift'],
      env,
    );
    const api = startChild('api', ['api'], env);
    children.push(pipeline, api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    await poll('the API', async () => (await fetch(`${apiUrl}/health`)).ok, 60_000);

    say(`warm-up: ${WARM_UP.locations.join(', ')} from ${WARM_UP.from} to ${WARM_UP.to} (real rows)`);
    const warm = await runReplay(
      ['--from', WARM_UP.from, '--to', WARM_UP.to, '--locations', WARM_UP.locations.join(','), '--quiet'],
      env,
    );
    if (warm.code !== 0) crashes.push(`warm-up replay exited ${warm.code}: ${warm.output.slice(-500)}`);
    const warmEvents = Number(JSON.parse(lastJsonLine(warm.output) ?? '{"events":0}').events);
    await poll(
      `${warmEvents} warm-up predictions`,
      async () => (await countRows(clickhouse, 'predictions', `task = 'rain'`)) >= warmEvents,
      180_000,
    );

    const dataText = gunzipSync(readFileSync(config.dataFile)).toString('utf8');
    const lines = dataText.split('\n');
    const header = lines[0]!;
    const byDay = new Map<string, string>();
    for (const line of lines.slice(1)) if (line) byDay.set(line.slice(0, line.indexOf(',', 11)), line);
    const corpus = hostileCorpus({
      header,
      now,
      includePending: options.includePending,
      realLine: (location, date) => {
        const line = byDay.get(`${date},${location}`);
        if (!line) throw new Error(`no row for ${location} ${date} in the data set`);
        return line;
      },
    });

    say(`raw records: ${corpus.filter((c) => c.kind === 'kafka').length} onto the topics`);
    const sent = new Map<string, { topic: string; partition: number; offset: string }>();
    for (const c of corpus.filter((c): c is KafkaCase => c.kind === 'kafka')) {
      const topic = config.topics[c.topic];
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: c.key, value: c.value(codec) }],
      });
      sent.set(c.id, { topic, partition: meta!.partition, offset: meta!.baseOffset! });
    }

    const csvCases = corpus.filter((c): c is CsvCase => c.kind === 'csv');
    const file = join(workDir, 'hostile.csv');
    const lineOf = new Map<string, number>();
    const parts: Buffer[] = [Buffer.from(`\uFEFF${header}\n`)];
    let line = 2;
    for (const c of csvCases) {
      const bytes = typeof c.text === 'string' ? Buffer.from(c.text) : c.text;
      lineOf.set(c.id, line);
      parts.push(bytes, Buffer.from(c.eol ?? '\n'));
      line += bytes.filter((b) => b === 10).length + 1;
    }
    writeFileSync(file, Buffer.concat(parts));
    say(`CSV: ${csvCases.length} rows through rainstream replay --file`);
    const hostileReplay = await runReplay(['--file', file, '--quiet'], env);
    if (hostileReplay.code !== 0) {
      crashes.push(`hostile replay exited ${hostileReplay.code}: ${hostileReplay.output.slice(-500)}`);
    }

    say(`HTTP: ${corpus.filter((c) => c.kind === 'http').length} requests`);
    const answers = new Map<string, { status: number; body: Record<string, unknown> | null }>();
    for (const c of corpus.filter((c): c is HttpCase => c.kind === 'http')) {
      answers.set(c.id, await request(apiUrl, c));
    }

    say('waiting for every outcome');
    const rules = observationRules({ eventTime: config.eventTime, stations, now });
    const evaluate = async () => {
      const predictions = await predictionCounts(clickhouse);
      const dlq = watched.records
        .filter((r) => r.topic === dlqTopic)
        .map((r) => ({ record: r, headers: readDlqHeaders(r.headers) }));
      const observations = new Map<string, Observation[]>();
      for (const r of watched.records) {
        if (r.topic !== config.topics.observations || r.value === null) continue;
        const o = await codec.decode('observation', r.value).catch(() => null);
        if (!o) continue;
        const key = `${o.location} ${o.date}`;
        observations.set(key, [...(observations.get(key) ?? []), o]);
      }
      const stageDlq = async (stage: string, location: string, date: string) => {
        for (const d of dlq) {
          if (d.headers.stage !== stage || d.record.value === null) continue;
          const o = await codec.decode('observation', d.record.value).catch(() => null);
          if (o && o.location === location && o.date === date) return d.headers;
        }
        return undefined;
      };
      const results: CaseResult[] = [];
      for (const c of corpus) {
        results.push(
          await judge(c, {
            // Two stages read the predictions and labeled topics (the labeler or trainer, and drift):
            // each refuses a bad record on its own, so the stage a case names is looked for first.
            dlqAt: (topic, offset, partition, stage) => {
              const at = dlq.filter(
                (d) =>
                  d.headers.sourceTopic === topic &&
                  d.headers.sourceOffset === offset &&
                  (partition === undefined || d.headers.sourcePartition === partition),
              );
              return (at.find((d) => d.headers.stage === stage) ?? at[0])?.headers;
            },
            stageDlq,
            predictions,
            observations,
            file,
            lineOf,
            sent,
            answers,
            header,
            rules,
          }),
        );
      }
      return results;
    };
    let results = await evaluate();
    const deadline = Date.now() + (options.settleMs ?? 120_000);
    while (results.some((r) => !r.ok) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1_000));
      results = await evaluate();
    }
    // A last look once everything is in: nothing may arrive late and change an outcome.
    await new Promise((r) => setTimeout(r, 2_000));
    results = await evaluate();

    say('checking the stores and the processes');
    const corrupted = await corruption(clickhouse, redis, stations, config, horizonEnd);
    for (const child of children) {
      if (child.process.exitCode !== null || child.process.signalCode !== null) {
        crashes.push(
          `${child.name} exited (${child.process.exitCode ?? child.process.signalCode}): ${failureOf(child.output())}`,
        );
      } else if (/gave up|"level":60/.test(child.output())) {
        crashes.push(`${child.name} logged a stage failure: ${failureOf(child.output())}`);
      }
    }
    return { results, crashes, corrupted, summary: summarize(results, crashes, corrupted) };
  } finally {
    await Promise.allSettled(children.map(stopChild));
    await watched.stop().catch(() => undefined);
    await producer.disconnect().catch(() => undefined);
    await clickhouse.close().catch(() => undefined);
    await redis.close().catch(() => undefined);
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** The messages of the fatal log line of a process (the error chain), or its last output. */
function failureOf(output: string): string {
  const fatal = output
    .split('\n')
    .reverse()
    .find((l) => l.includes('"level":60'));
  if (!fatal) return output.slice(-500);
  const messages = [...fatal.matchAll(/"(?:message|stage)":"((?:[^"\\]|\\.){0,200})/g)].map((m) => m[1]);
  return messages.join(' | ') || fatal.slice(0, 500);
}

function lastJsonLine(output: string): string | undefined {
  return output
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('{"events"'));
}

async function runReplay(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = startChild('replay', ['replay', ...args], env);
  const code = await child.exited;
  return { code, output: child.output() };
}

async function request(
  base: string,
  c: HttpCase,
): Promise<{ status: number; body: Record<string, unknown> | null }> {
  const init: RequestInit = { method: c.method };
  if (c.rawBody !== undefined) {
    init.body = c.rawBody;
    init.headers = { 'content-type': c.contentType ?? 'application/json' };
  } else if (c.method === 'POST') {
    init.body = JSON.stringify(c.body);
    init.headers = { 'content-type': 'application/json' };
  }
  try {
    const response = await fetch(`${base}${c.path}`, init);
    const text = await response.text();
    let body: Record<string, unknown> | null = null;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = null;
    }
    return { status: response.status, body };
  } catch (error) {
    return { status: 0, body: { error: (error as Error).message } };
  }
}

async function countRows(clickhouse: ClickHouse, table: string, where = '1 = 1'): Promise<number> {
  const [row] = await clickhouse.rows<{ n: string }>(`SELECT count() AS n FROM ${table} WHERE ${where}`);
  return Number(row?.n ?? 0);
}

/**
 * Rain's prediction rows per (location, date) as written (not FINAL: a day predicted twice shows as 2).
 * Every task's rows of a day are written with rain's, so rain's say whether the day was predicted.
 */
async function predictionCounts(clickhouse: ClickHouse): Promise<Map<string, number>> {
  const rows = await clickhouse.rows<{ location: string; date: string; n: string }>(
    `SELECT location, toString(date) AS date, count() AS n FROM predictions WHERE task = 'rain' GROUP BY location, date`,
  );
  return new Map(rows.map((r) => [`${r.location} ${r.date}`, Number(r.n)]));
}

interface Evidence {
  dlqAt(topic: string, offset: string, partition?: number, stage?: string): DlqHeaders | undefined;
  stageDlq(stage: string, location: string, date: string): Promise<DlqHeaders | undefined>;
  predictions: Map<string, number>;
  observations: Map<string, Observation[]>;
  file: string;
  lineOf: Map<string, number>;
  sent: Map<string, { topic: string; partition: number; offset: string }>;
  answers: Map<string, { status: number; body: Record<string, unknown> | null }>;
  header: string;
  rules: ReturnType<typeof observationRules>;
}

function dlqText(h: DlqHeaders): string {
  return `DLQ ${h.field || '-'} (${h.kind}${h.stage ? ` by ${h.stage}` : ''}): ${h.reason.slice(0, 90)}`;
}

async function judge(c: HostileCase, ev: Evidence): Promise<CaseResult> {
  const base = {
    id: c.id,
    kind: c.kind,
    title: c.title,
    expected: expectedText(c),
    dlqWithReason: false,
    http4xx: false,
    acceptedValid: false,
    http5xx: false,
    silentDrop: false,
  };
  if (c.kind === 'http') {
    const answer = ev.answers.get(c.id)!;
    const e = c.expect as Extract<HostileCase['expect'], { outcome: 'http' }>;
    const field = typeof answer.body?.field === 'string' ? answer.body.field : undefined;
    const says = [answer.body?.reason, answer.body?.error].find((x) => typeof x === 'string') as
      string | undefined;
    const observed = `HTTP ${answer.status}${field ? ` ${field}` : ''}${says ? `: ${says.slice(0, 80)}` : ''}`;
    // A 404 of /predict names the location it looked up; a 400 names the field at fault.
    const named = e.status === 404 ? answer.body?.location !== undefined : field === e.field;
    const ok = answer.status === e.status && (e.field === undefined || named);
    return {
      ...base,
      observed,
      ok,
      http5xx: answer.status >= 500 || answer.status === 0,
      http4xx: ok && answer.status >= 400 && answer.status < 500 && says !== undefined,
      acceptedValid: ok && answer.status < 300,
    };
  }

  // Where the input went in, and what it is about.
  let dlq: DlqHeaders | undefined;
  let about: { location: string; date: string } | undefined;
  if (c.kind === 'csv') {
    dlq = ev.dlqAt(`file:${ev.file}`, String(ev.lineOf.get(c.id)));
    const text = typeof c.text === 'string' ? c.text : c.text.toString('utf8');
    const [date, location] = text.split(',');
    about = { location: (location ?? '').replace(/"/g, ''), date: (date ?? '').replace(/"/g, '') };
    if (!dlq && c.expect.outcome === 'dlq' && c.expect.stage) {
      dlq = await ev.stageDlq(c.expect.stage, about.location, about.date);
    }
  } else {
    const at = ev.sent.get(c.id)!;
    dlq = ev.dlqAt(
      at.topic,
      at.offset,
      at.partition,
      c.expect.outcome === 'dlq' ? c.expect.stage : undefined,
    );
  }
  const e = c.expect;
  if (e.outcome === 'accepted' || e.outcome === 'duplicate') about = { location: e.location, date: e.date };
  const predicted = about ? (ev.predictions.get(`${about.location} ${about.date}`) ?? 0) : 0;

  if (e.outcome === 'dlq') {
    if (dlq) {
      const ok =
        dlq.reason !== '' &&
        dlq.sourceTopic !== '' &&
        dlq.sourceOffset !== '' &&
        dlq.field === e.field &&
        (e.kind === undefined || dlq.kind === e.kind) &&
        (e.stage === undefined || dlq.stage === e.stage);
      return { ...base, observed: dlqText(dlq), ok, dlqWithReason: ok };
    }
    // A CSV row that reached the stream is predicted; anything else left no trace at all.
    const accepted = c.kind === 'csv' && predicted > 0 && isCalendarDate(about?.date);
    return {
      ...base,
      observed: accepted ? `accepted (${about!.location} ${about!.date} predicted)` : 'nothing',
      ok: false,
      silentDrop: !accepted,
    };
  }

  if (dlq) return { ...base, observed: dlqText(dlq), ok: false };
  if (predicted === 0) return { ...base, observed: 'nothing', ok: false, silentDrop: true };
  if (predicted > 1) return { ...base, observed: `predicted ${predicted} times`, ok: false };
  if (c.kind === 'csv' && e.outcome === 'accepted') {
    // Unchanged: the event on the topic is the row as the CSV edge reads it on its own.
    const [expected] = parseWeatherCsv(
      `${ev.header}\n${typeof c.text === 'string' ? c.text : c.text.toString()}`,
      {
        rules: ev.rules,
      },
    );
    const onTopic = ev.observations.get(`${e.location} ${e.date}`) ?? [];
    const same =
      expected?.ok === true && onTopic.length === 1 && sameObservation(onTopic[0]!, expected.observation);
    return {
      ...base,
      observed: same
        ? 'accepted, event equal to the row'
        : `accepted, ${onTopic.length} events on the topic, not equal`,
      ok: same,
      acceptedValid: same,
    };
  }
  return {
    ...base,
    observed: e.outcome === 'duplicate' ? 'no-op: no DLQ, predicted once' : 'accepted, predicted once',
    ok: true,
    acceptedValid: true,
  };
}

/** Rows and keys no valid input could have written: an impossible date, a station not on the list. */
async function corruption(
  clickhouse: ClickHouse,
  redis: RedisHandle,
  stations: StationRegistry,
  config: Config,
  horizonEnd: string,
): Promise<string[]> {
  const found: string[] = [];
  const names = stations.names.map(quoteString).join(', ');
  for (const table of ['predictions', 'actuals', 'labeled_examples']) {
    const [row] = await clickhouse.rows<{ n: string; dates: string; locations: string }>(
      `SELECT count() AS n, toString(groupUniqArray(toString(date))) AS dates, toString(groupUniqArray(location)) AS locations
       FROM ${table}
       WHERE toUInt16(date) = 0 OR date < toDate(${quoteString(config.eventTime.min)})
          OR date > toDate(${quoteString(horizonEnd)}) OR location NOT IN (${names})`,
    );
    if (Number(row?.n ?? 0) > 0)
      found.push(`${table}: ${row!.n} rows, dates ${row!.dates}, locations ${row!.locations}`);
  }
  let cursor = '0';
  do {
    const [next, keys] = await redis.client.scan(cursor, 'MATCH', `${redis.prefix}:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const parts = key.slice(redis.prefix.length + 1).split(':');
      if (!['latest', 'station', 'pending-label', 'forecast'].includes(parts[0]!)) continue;
      // Another task's keys name the task before the station (STATE_KEYS.pendingLabelOf, latestOf).
      const taskKey =
        parts[0] === 'forecast' ||
        (parts[0] === 'pending-label' && parts.length > 2 && isTaskName(parts[1]!));
      const location = parts.slice(taskKey ? 2 : 1).join(':');
      if (!stations.has(location)) {
        found.push(`redis ${key}: not a station`);
        continue;
      }
      const text = await redis.client.get(key);
      let value: Record<string, unknown> | null = null;
      try {
        value = JSON.parse(text ?? 'null') as Record<string, unknown> | null;
      } catch {
        found.push(`redis ${key}: not JSON`);
        continue;
      }
      for (const field of ['date', 'lastDate', 'firstDate']) {
        const d = value?.[field];
        if (d === undefined) continue;
        if (typeof d !== 'string' || !isCalendarDate(d) || d < config.eventTime.min || d > horizonEnd) {
          found.push(`redis ${key}: ${field} ${String(d)}`);
        }
      }
    }
  } while (cursor !== '0');
  return found;
}

function summarize(results: CaseResult[], crashes: string[], corrupted: string[]): HostileSummary {
  const count = (f: (r: CaseResult) => boolean) => results.filter(f).length;
  return {
    cases: results.length,
    dlq_with_reason: count((r) => r.dlqWithReason),
    http_4xx: count((r) => r.http4xx),
    accepted_valid: count((r) => r.acceptedValid),
    crashes: crashes.length,
    silent_drops: count((r) => r.silentDrop),
    corrupted: corrupted.length,
    http_5xx: count((r) => r.http5xx),
    mismatches: count((r) => !r.ok),
  };
}

/** The table and the summary line. */
export function formatReport(report: HostileReport): string {
  const rows = report.results.map((r) => [
    r.ok ? 'ok' : 'FAIL',
    r.id,
    r.expected,
    r.observed.replace(/\s+/g, ' '),
  ]);
  const widths = [4, Math.max(...rows.map((r) => r[1]!.length)), Math.max(...rows.map((r) => r[2]!.length))];
  const lines = rows.map(
    ([ok, id, expected, observed]) =>
      `${ok!.padEnd(widths[0]!)}  ${id!.padEnd(widths[1]!)}  ${expected!.padEnd(widths[2]!)}  ${observed!.slice(0, 110)}`,
  );
  const s = report.summary;
  return [
    `${'ok'.padEnd(widths[0]!)}  ${'case'.padEnd(widths[1]!)}  ${'expected'.padEnd(widths[2]!)}  observed`,
    ...lines,
    ...report.crashes.map((c) => `crash: ${c}`),
    ...report.corrupted.map((c) => `corrupted: ${c}`),
    `mismatches=${s.mismatches}`,
    `hostile: cases=${s.cases} dlq_with_reason=${s.dlq_with_reason} http_4xx=${s.http_4xx} accepted_valid=${s.accepted_valid} crashes=${s.crashes} silent_drops=${s.silent_drops} corrupted=${s.corrupted} http_5xx=${s.http_5xx}`,
  ].join('\n');
}
