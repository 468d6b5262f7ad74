/**
 * Where a replay stands, read back from the log itself: per partition of the observations topic, the last
 * record the replay wrote there. The replay sends days in (date, station) order and each partition keeps
 * its records in the order sent (an idempotent producer, one request in flight), so everything planned
 * for a partition up to that record is in the log, and nothing after it: a restarted replay (`--resume`),
 * or a send retried after a broker outage, skips exactly what is there and re-sends nothing twice.
 */
import type { EventCodec, Observation } from '../../lib/domain/events.ts';
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import { createLogPositions } from '../../lib/platform/kafka/offsets.ts';
import { partitionOfKey } from '../../lib/platform/kafka/producer.ts';
import { readToEnd } from '../../lib/platform/kafka/read-to-end.ts';

/** Marks the records a replay wrote, so other writers of the topic (live ingestion) are not mistaken for it. */
export const REPLAY_SOURCE_HEADER = 'rainstream-source';
export const REPLAY_SOURCE = 'replay';

/** The last (date, station) the replay has in a partition. */
export interface SentPosition {
  date: string;
  location: string;
}

export type Checkpoint = ReadonlyMap<number, SentPosition>;

/** (date, station) order, the order of a replay plan. */
export function comparePositions(a: SentPosition, b: SentPosition): number {
  if (a.date !== b.date) return a.date < b.date ? -1 : 1;
  return a.location < b.location ? -1 : a.location > b.location ? 1 : 0;
}

/** Whether the log already holds this observation, given its partition's checkpoint. */
export function alreadySent(checkpoint: Checkpoint, partition: number, o: SentPosition): boolean {
  const last = checkpoint.get(partition);
  return last !== undefined && comparePositions(o, last) <= 0;
}

/** The last day every partition has reached: what a resumed replay reports as fully sent. */
export function lastDayEverywhere(checkpoint: Checkpoint): string | null {
  let min: string | null = null;
  for (const { date } of checkpoint.values()) if (min === null || date < min) min = date;
  return min;
}

export interface ReplayLog {
  /** Per partition, the end offset now (a run's own records come after it). */
  ends(): Promise<Map<number, bigint>>;
  /** Per partition, the last replay record at or after `since` (default: anywhere in the log). */
  lastSent(since?: ReadonlyMap<number, bigint>): Promise<Checkpoint>;
  partitionOf(location: string): number;
  close(): Promise<void>;
}

/** How far back from a partition's end the last replay record is looked for before reading all of it. */
const TAIL_RECORDS = 512n;

export async function createReplayLog(kafka: Kafka, codec: EventCodec, topic: string): Promise<ReplayLog> {
  const positions = createLogPositions(kafka);
  const partitions = (await positions.ends(topic)).size;

  const lastIn = async (
    from: ReadonlyMap<number, bigint>,
    until: ReadonlyMap<number, bigint>,
  ): Promise<Map<number, SentPosition>> => {
    const found = new Map<number, SentPosition>();
    await readToEnd(kafka, topic, {
      partitions: [...from.keys()],
      from,
      until,
      async onBatch(records) {
        for (const r of records) {
          if (r.value === null || String(r.headers[REPLAY_SOURCE_HEADER] ?? '') !== REPLAY_SOURCE) continue;
          const o: Observation = await codec.decode('observation', r.value);
          found.set(r.partition, { date: o.date, location: o.location });
        }
      },
    });
    return found;
  };

  return {
    async ends() {
      return new Map([...(await positions.ends(topic))].map(([p, { high }]) => [p, high]));
    },
    async lastSent(since) {
      const ends = await positions.ends(topic);
      const floor = (p: number) => {
        const low = ends.get(p)!.low;
        const s = since?.get(p) ?? low;
        return s > low ? s : low;
      };
      const tailFrom = new Map<number, bigint>();
      const until = new Map<number, bigint>();
      for (const [p, { high }] of ends) {
        const tail = high - TAIL_RECORDS;
        tailFrom.set(p, tail > floor(p) ? tail : floor(p));
        until.set(p, high);
      }
      const found = await lastIn(tailFrom, until);
      // A partition whose tail holds no replay record (another writer since): read the rest of it.
      const rest = new Map<number, bigint>();
      for (const [p, start] of tailFrom) if (!found.has(p) && start > floor(p)) rest.set(p, floor(p));
      if (rest.size > 0) {
        const older = await lastIn(rest, new Map([...rest.keys()].map((p) => [p, tailFrom.get(p)!])));
        for (const [p, position] of older) found.set(p, position);
      }
      return found;
    },
    partitionOf: (location) => partitionOfKey(location, partitions),
    close: () => positions.close(),
  };
}
