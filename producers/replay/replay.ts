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
  /** When given, `--locations` must name stations of it. */
  stations?: StationRegistry;
  clock?: () => number;
  sleep?: (ms: number) => Promise<void>;
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
}

/** Events per send: well under the broker's 1 MB batch limit, large enough to amortise round trips. */
const SEND_EVENTS = 3_000;

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
  // Each event says where it was read (schema v2's sourcePosition): the file's name and the row's line.
  const lineOf = new Map<Observation, number>();
  for (const r of rows) if (r.ok) lineOf.set(r.observation, r.line);
  const fileName = basename(file);
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
        value: deps.codec.encode('observation', {
          ...o,
          sourcePosition: `file:${fileName}:${lineOf.get(o)}`,
        }),
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
    duplicates: plan.duplicates,
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
