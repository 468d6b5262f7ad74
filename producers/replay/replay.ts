/**
 * Replay producer: the weatherAUS file (or any CSV with its header) as a stream of observation events,
 * one per (station, day), keyed by station, in event-time order. `RainTomorrow` is never sent: labels
 * come from the next day's observation, as they would in production.
 */
import { basename } from 'node:path';
import { z } from 'zod';
import type { EventCodec, Observation } from '../../lib/domain/events.ts';
import type { StationRegistry } from '../../lib/domain/stations.ts';
import { isIsoDate, type CsvRow } from '../../lib/domain/weather/csv.ts';
import type { Progress } from '../../lib/platform/cli/progress.ts';
import type { Config } from '../../lib/platform/config.ts';
import type { Message, Producer } from '../../lib/platform/kafka/client.ts';
import { fileRowDlqMessage } from '../../lib/platform/kafka/dlq.ts';
import { sendBounded } from '../../lib/platform/kafka/producer.ts';
import type { Logger } from '../../lib/platform/log.ts';
import { isRetriable } from '../../lib/platform/errors.ts';
import { retryForever } from '../../lib/platform/retry.ts';
import {
  alreadySent,
  lastDayEverywhere,
  REPLAY_SOURCE,
  REPLAY_SOURCE_HEADER,
  type Checkpoint,
  type ReplayLog,
} from './checkpoint.ts';
import { planReplay, type PlannedRejection, type ReplayFilter } from './plan.ts';

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
  /**
   * Events per second on average, in place of `speed`: the days per second follow from the replayed
   * slice's events per day (whole days are still sent at once).
   */
  eventsPerS: z.coerce.number().positive().optional(),
  /** Replay up to this date at full speed, then wait for the first trained champion before going on. */
  warmupUntil: isoDate.optional(),
  limit: z.coerce.number().int().positive().optional(),
  /** Stay at most this many days ahead of the latest retraining (weekly retraining kept honest). */
  maxLeadDays: z.coerce.number().int().positive().optional(),
  quiet: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).default(false),
  /** Skip what an earlier run of this replay already put in the log (read back from the log's tail). */
  resume: z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]).optional(),
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
  /** When given, `--locations` must name stations of it. */
  stations?: StationRegistry;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /**
   * The observations topic as the replay left it: with it a send that failed (a broker away) is retried
   * forever without sending twice what did get through, and `resume` works. Without it a failed send is
   * retried as is (the idempotent producer de-duplicates its own retries, not a new send).
   */
  replayLog?: ReplayLog;
}

export interface ReplaySummary {
  events: number;
  rejected: number;
  skipped: number;
  /** Exact repeats of a row already sent (no-ops). */
  duplicates: number;
  days: number;
  firstDate: string | null;
  lastDate: string | null;
  seconds: number;
  /** Wall-clock ms when the first observation was handed to Kafka. */
  firstProducedAt: number | null;
  /** With `resume`: observations found already in the log and not sent again. */
  alreadyInLog: number;
  /** With `resume`: the last day every partition had reached before this run. */
  resumedAfter: string | null;
  /** Sends that failed and were retried (broker outages). */
  retriedSends: number;
}

/** Events per send: well under the broker's 1 MB batch limit, large enough to amortise round trips. */
const SEND_EVENTS = 3_000;

interface Pending {
  message: Message;
  date: string;
  location: string;
}

function dlqMessage(row: PlannedRejection, file: string): Message {
  return fileRowDlqMessage(
    {
      ...row,
      conflicting: row.conflictsWith && { line: row.conflictsWith.line, ...row.conflictsWith.observation },
    },
    file,
  );
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
  const plan = planReplay(rows, filter, deps.stations);
  const daysPerS =
    options.eventsPerS === undefined
      ? options.speed
      : options.eventsPerS / Math.max(1, plan.events / Math.max(1, plan.days.length));
  // Each event says where it was read (schema v2's sourcePosition): the file's name and the row's line.
  const lineOf = new Map<Observation, number>();
  for (const r of rows) if (r.ok) lineOf.set(r.observation, r.line);
  const fileName = basename(file);
  const log = deps.logger.child({ component: 'replay' });
  const started = clock();

  let retriedSends = 0;
  /** Retries a send until it goes through, however long the broker is away; `prepare` runs per attempt. */
  const sendThrough = async <T>(what: string, attempt: (n: number) => Promise<T>): Promise<T> =>
    retryForever(attempt, {
      shouldRetry: isRetriable,
      onRetry: ({ error, attempt: n, delayMs }) => {
        retriedSends++;
        if (n === 1 || n % 10 === 0)
          log.warn({ err: error, attempt: n, delayMs }, `${what} failed; retrying`);
      },
    });

  const runStart = deps.replayLog
    ? await sendThrough('reading the log end', () => deps.replayLog!.ends())
    : null;
  let checkpoint: Checkpoint | null = null;
  if (options.resume && deps.replayLog) {
    checkpoint = await sendThrough('reading the checkpoint', () => deps.replayLog!.lastSent());
    log.info(
      { partitions: checkpoint.size, resumedAfter: lastDayEverywhere(checkpoint) },
      checkpoint.size === 0
        ? 'nothing to resume: the replay starts from its first day'
        : 'resuming the replay',
    );
  }

  // Rejected rows go out before any observation: a run that got as far as observations sent them.
  if (plan.rejected.length > 0 && (checkpoint === null || checkpoint.size === 0)) {
    const messages = plan.rejected.map((r) => dlqMessage(r, file));
    await sendThrough('sending rejected rows', async () => {
      await sendBounded(deps.producer, deps.topics.observationsDlq, messages);
    });
    log.warn(
      { rejected: plan.rejected.length, first: plan.rejected[0]?.reason },
      'invalid rows sent to the DLQ',
    );
  }

  let sent = 0;
  let alreadyInLog = 0;
  let firstProducedAt: number | null = null;
  let pending: Pending[] = [];
  /**
   * The send in flight. One at a time, so per-station order holds; but the next batch is read and
   * Avro-encoded while this one is on its way, rather than after (encoding was a third of the replay).
   */
  let inFlight: Promise<void> = Promise.resolve();
  let queued = 0;
  /** Hands what is pending to Kafka once the previous send is through; returns without waiting for it. */
  const flush = async () => {
    await inFlight;
    if (pending.length === 0) return;
    firstProducedAt ??= clock();
    const batch = pending;
    pending = [];
    queued += batch.length;
    inFlight = sendBatch(batch);
    // Awaited at the next flush or settle; until then a failure must not count as unhandled.
    inFlight.catch(() => undefined);
  };
  /** Everything handed to Kafka and acknowledged. */
  const settle = async () => {
    await flush();
    await inFlight;
  };
  const sendBatch = async (batch: Pending[]) => {
    let out = batch;
    await sendThrough('sending observations', async (attempt) => {
      if (attempt > 0 && deps.replayLog && runStart) {
        // The failed attempt may have landed in part: keep only what the log does not hold yet.
        const landed = await deps.replayLog.lastSent(runStart);
        out = batch.filter((p) => !alreadySent(landed, deps.replayLog!.partitionOf(p.location), p));
        log.info({ pending: batch.length, remaining: out.length }, 'resending what did not land');
      }
      await sendBounded(
        deps.producer,
        deps.topics.observations,
        out.map((p) => p.message),
      );
    });
    // What landed in a failed attempt is in the log too: all of the batch was put there by this run.
    sent += batch.length;
  };

  let warmupDone = options.warmupUntil === undefined;
  let paceStart = clock();
  let pacedDays = 0;
  let previousDate: string | null = null;
  for (const day of plan.days) {
    if (!warmupDone && day.date > options.warmupUntil!) {
      await settle();
      log.info({ until: options.warmupUntil }, 'warm-up replayed; waiting for the first trained champion');
      await deps.waitForTrainedChampion?.();
      warmupDone = true;
      paceStart = clock();
      pacedDays = 0;
    }
    // What is pending goes out before waiting: the retraining waits on exactly those days.
    if (options.maxLeadDays !== undefined && warmupDone) {
      await deps.waitForTraining?.(day.date, previousDate, async () => {
        await settle();
        log.debug({ date: day.date, sent }, 'waiting for the retraining to catch up');
      });
    }
    const ingestedAt = clock();
    for (const o of day.observations) {
      if (
        checkpoint &&
        deps.replayLog &&
        alreadySent(checkpoint, deps.replayLog.partitionOf(o.location), o)
      ) {
        alreadyInLog++;
        continue;
      }
      pending.push({
        date: o.date,
        location: o.location,
        message: {
          key: o.location,
          value: deps.codec.encode('observation', {
            ...o,
            sourcePosition: `file:${fileName}:${lineOf.get(o)}`,
          }),
          timestamp: String(ingestedAt),
          headers: { [REPLAY_SOURCE_HEADER]: REPLAY_SOURCE },
        },
      });
    }
    if (!warmupDone || daysPerS === 0) {
      if (pending.length >= SEND_EVENTS) await flush();
    } else {
      await settle();
      pacedDays++;
      const wait = paceStart + (pacedDays * 1000) / daysPerS - clock();
      if (wait > 0) await sleep(wait);
    }
    deps.progress?.update(queued + pending.length, day.date);
    previousDate = day.date;
  }
  await settle();
  const summary: ReplaySummary = {
    events: sent,
    rejected: plan.rejected.length,
    skipped: plan.skipped,
    duplicates: plan.duplicates,
    days: plan.days.length,
    firstDate: plan.days[0]?.date ?? null,
    lastDate: plan.days.at(-1)?.date ?? null,
    seconds: (clock() - started) / 1000,
    firstProducedAt,
    alreadyInLog,
    resumedAfter: checkpoint ? lastDayEverywhere(checkpoint) : null,
    retriedSends,
  };
  deps.progress?.finish(sent, summary.lastDate ?? '');
  log.info(summary, 'replay finished');
  return summary;
}
