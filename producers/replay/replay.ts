/**
 * Replay producer: the weatherAUS file (or any CSV with its header) as a stream of observation events,
 * one per (station, day), keyed by station, in event-time order. `RainTomorrow` is never sent: labels
 * come from the next day's observation, as they would in production.
 */
import { z } from 'zod';
import { createProgress, type Progress } from '../../lib/platform/cli/progress.ts';
import { parseArgs, UsageError } from '../../lib/platform/cli/args.ts';
import { createClickHouse } from '../../lib/platform/clickhouse/client.ts';
import { modelOfAlias } from '../../lib/platform/clickhouse/queries/quality.ts';
import { type Config, loadConfig } from '../../lib/platform/config.ts';
import { createKafka, type Message, type Producer } from '../../lib/platform/kafka/client.ts';
import { DLQ_HEADERS } from '../../lib/platform/kafka/dlq.ts';
import { createProducer, sendBounded } from '../../lib/platform/kafka/producer.ts';
import { createLogger, type Logger } from '../../lib/platform/log.ts';
import { createSchemaRegistry, registerAll, type EventCodec } from '../../lib/platform/schema-registry.ts';
import { SCHEMAS_DIR } from '../../ops/setup.ts';
import { addDays, mondayOf } from '../../lib/domain/time.ts';
import { BOUNDARY_GRACE_DAYS } from '../../consumers/trainer/step.ts';
import { isIsoDate, readWeatherCsvFile, type CsvRow } from '../../lib/domain/weather/csv.ts';
import { planReplay, type ReplayFilter } from './plan.ts';

const isoDate = z.string().refine(isIsoDate, 'expected a calendar date YYYY-MM-DD');

export const replayOptionsSchema = z.strictObject({
  file: z.string().optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
  locations: z
    .string()
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    )
    .optional(),
  /** Days per second; 0 (default) replays as fast as Kafka takes it. */
  speed: z.coerce.number().min(0).default(0),
  /** Replay up to this date at full speed, then wait for the first trained champion before going on. */
  warmupUntil: isoDate.optional(),
  limit: z.coerce.number().int().positive().optional(),
  /** Stay at most this many days ahead of the latest retraining (weekly retraining kept honest). */
  maxLeadDays: z.coerce.number().int().positive().optional(),
  quiet: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
});
export type ReplayOptions = z.infer<typeof replayOptionsSchema>;

export interface ReplayDeps {
  producer: Producer;
  codec: EventCodec;
  topics: Config['topics'];
  logger: Logger;
  /** Resolves once a trained champion exists (used after `warmupUntil`). */
  waitForTrainedChampion?: () => Promise<void>;
  /**
   * With `maxLeadDays`: resolves once the retraining has caught up with `date` (latest training run's
   * data reaches date - maxLeadDays), so a fast replay cannot outrun weekly retraining.
   */
  waitForTraining?: (
    date: string,
    previousDate: string | null,
    beforeWaiting: () => Promise<void>,
  ) => Promise<void>;
  progress?: Progress;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

export interface ReplaySummary {
  events: number;
  rejected: number;
  skipped: number;
  days: number;
  firstDate: string | null;
  lastDate: string | null;
  seconds: number;
  /** Wall-clock ms when the first observation was handed to Kafka. */
  firstProducedAt: number | null;
}

/** Events per send: well under the broker's 1 MB batch limit, large enough to amortise round trips. */
const SEND_EVENTS = 3_000;

function dlqMessage(row: Extract<CsvRow, { ok: false }>, file: string): Message {
  return {
    key: null,
    value: Buffer.from(row.raw, 'utf8'),
    headers: {
      [DLQ_HEADERS.reason]: row.reason,
      [DLQ_HEADERS.field]: row.field,
      [DLQ_HEADERS.sourceTopic]: `file:${file}`,
      [DLQ_HEADERS.sourceOffset]: String(row.line),
    },
  };
}

export async function replay(
  rows: readonly CsvRow[],
  file: string,
  options: ReplayOptions,
  deps: ReplayDeps,
): Promise<ReplaySummary> {
  const clock = deps.clock ?? (() => Date.now());
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const filter: ReplayFilter = {
    from: options.from,
    to: options.to,
    locations: options.locations,
    limit: options.limit,
  };
  const plan = planReplay(rows, filter);
  const log = deps.logger.child({ component: 'replay' });
  const started = clock();

  if (plan.rejected.length > 0) {
    await sendBounded(
      deps.producer,
      deps.topics.observationsDlq,
      plan.rejected.map((r) => dlqMessage(r, file)),
    );
    log.warn(
      { rejected: plan.rejected.length, first: plan.rejected[0]?.reason },
      'invalid rows sent to the DLQ',
    );
  }

  let sent = 0;
  let firstProducedAt: number | null = null;
  let pending: Message[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    firstProducedAt ??= clock();
    await sendBounded(deps.producer, deps.topics.observations, pending);
    sent += pending.length;
    pending = [];
  };

  let warmupDone = options.warmupUntil === undefined;
  let paceStart = clock();
  let pacedDays = 0;
  let previousDate: string | null = null;
  for (const day of plan.days) {
    if (!warmupDone && day.date > options.warmupUntil!) {
      await flush();
      log.info({ until: options.warmupUntil }, 'warm-up replayed; waiting for the first trained champion');
      await deps.waitForTrainedChampion?.();
      warmupDone = true;
      paceStart = clock();
      pacedDays = 0;
    }
    // What is pending goes out before waiting: the retraining waits on exactly those days.
    if (options.maxLeadDays !== undefined && warmupDone) {
      await deps.waitForTraining?.(day.date, previousDate, async () => {
        await flush();
        log.debug({ date: day.date, sent }, 'waiting for the retraining to catch up');
      });
    }
    const ingestedAt = clock();
    for (const o of day.observations) {
      pending.push({
        key: o.location,
        value: deps.codec.encode('observation', o),
        timestamp: String(ingestedAt),
      });
    }
    if (!warmupDone || options.speed === 0) {
      if (pending.length >= SEND_EVENTS) await flush();
    } else {
      await flush();
      pacedDays++;
      const wait = paceStart + (pacedDays * 1000) / options.speed - clock();
      if (wait > 0) await sleep(wait);
    }
    deps.progress?.update(sent + pending.length, day.date);
    previousDate = day.date;
  }
  await flush();
  const summary: ReplaySummary = {
    events: sent,
    rejected: plan.rejected.length,
    skipped: plan.skipped,
    days: plan.days.length,
    firstDate: plan.days[0]?.date ?? null,
    lastDate: plan.days.at(-1)?.date ?? null,
    seconds: (clock() - started) / 1000,
    firstProducedAt,
  };
  deps.progress?.finish(sent, summary.lastDate ?? '');
  log.info(summary, 'replay finished');
  return summary;
}

/**
 * Gate for `maxLeadDays`: day D may go out once the retraining has caught up with the data sent so far.
 * The target is the training run on data up to D - leadDays, lowered to what the labels in ClickHouse
 * make reachable: a week's run needs a label dated BOUNDARY_GRACE_DAYS past its boundary, and a hole in
 * the data (weatherAUS has no April 2011) yields no labels at all. Before waiting on the retraining, the
 * pipeline must have predicted every day sent, so the labels read are current.
 */
export function trainingGate(
  clickhouse: Parameters<typeof modelOfAlias>[0],
  leadDays: number,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): (date: string, previousDate: string | null, beforeWaiting: () => Promise<void>) => Promise<void> {
  let reached = '';
  return async (date, previousDate, beforeWaiting) => {
    const needed = addDays(date, -leadDays);
    if (previousDate === null || needed <= reached) return;
    await beforeWaiting();
    const deadline = Date.now() + (options.timeoutMs ?? 10 * 60_000);
    for (;;) {
      const [row] = await clickhouse.rows<GateRow>(GATE_SQL);
      const state = row!;
      if (Number(state.runs) > 0) reached = state.until;
      if (state.predicted >= previousDate && needed <= reached) return;
      if (state.predicted >= previousDate) {
        // Labels present: the last boundary they let the trainer cross, and the data end of its run.
        if (Number(state.labels) === 0) return;
        const firstRun = addDays(mondayOf(addDays(state.labeledFrom, -BOUNDARY_GRACE_DAYS)), 7);
        const lastRun = mondayOf(addDays(state.labeledUntil, -BOUNDARY_GRACE_DAYS));
        if (lastRun < firstRun) return;
        const reachable = addDays(lastRun, -1);
        if ((reachable < needed ? reachable : needed) <= reached) return;
      }
      if (Date.now() > deadline) {
        throw new Error(`retraining did not reach ${needed} in time (at ${reached || 'none'})`);
      }
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 100));
    }
  };
}

interface GateRow {
  predicted: string;
  labeledFrom: string;
  labeledUntil: string;
  labels: string;
  until: string;
  runs: string;
}

const GATE_SQL = `SELECT
  (SELECT toString(max(date)) FROM predictions) AS predicted,
  (SELECT toString(min(date)) FROM labeled_examples) AS labeledFrom,
  (SELECT toString(max(date)) FROM labeled_examples) AS labeledUntil,
  (SELECT count() FROM labeled_examples) AS labels,
  (SELECT toString(max(data_until)) FROM training_runs) AS until,
  (SELECT count() FROM training_runs) AS runs`;

/** Polls the registry until the champion alias points at a trained model (not the prior baseline). */
export function championPoller(
  clickhouse: Parameters<typeof modelOfAlias>[0],
  options: { intervalMs?: number; timeoutMs?: number } = {},
): () => Promise<void> {
  return async () => {
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    while (Date.now() < deadline) {
      if (await modelOfAlias(clickhouse, 'champion')) return;
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 500));
    }
    throw new Error('no trained champion appeared before the warm-up timeout');
  };
}

if (import.meta.main) {
  let options: ReplayOptions;
  try {
    options = parseArgs(process.argv.slice(2), replayOptionsSchema);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(`replay: ${error.message}`);
    console.error(
      'usage: node producers/replay.ts [--file F] [--from DATE] [--to DATE] [--locations A,B] [--speed DAYS_PER_S] [--warmup-until DATE] [--max-lead-days N] [--limit N] [--quiet]',
    );
    process.exit(2);
  }
  const config = loadConfig();
  const logger = createLogger(config);
  const file = options.file ?? config.dataFile;
  const kafka = createKafka(config, logger, { clientId: 'rainstream-replay' });
  const producer = createProducer(kafka);
  const clickhouse = createClickHouse(config.clickhouse);
  try {
    const rows = await readWeatherCsvFile(file);
    const codec = await registerAll(createSchemaRegistry(config), config.topics, SCHEMAS_DIR);
    await producer.connect();
    const planned = planReplay(rows, {
      from: options.from,
      to: options.to,
      locations: options.locations,
      limit: options.limit,
    });
    const summary = await replay(rows, file, options, {
      producer,
      codec,
      topics: config.topics,
      logger,
      waitForTrainedChampion: championPoller(clickhouse),
      waitForTraining: options.maxLeadDays ? trainingGate(clickhouse, options.maxLeadDays) : undefined,
      progress: options.quiet ? undefined : createProgress('replay', planned.events),
    });
    console.log(JSON.stringify(summary));
  } catch (error) {
    logger.error({ err: error }, 'replay failed');
    process.exitCode = 1;
  } finally {
    await producer.disconnect();
    await clickhouse.close();
  }
}
