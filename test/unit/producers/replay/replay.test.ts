import { describe, expect, it } from 'vitest';
import type { Message, Producer } from '../../../../lib/platform/kafka/client.ts';
import { createLogger } from '../../../../lib/platform/log.ts';
import { parseWeatherCsv } from '../../../../lib/domain/weather/csv.ts';
import { readDlqHeaders } from '../../../../lib/platform/kafka/dlq.ts';
import { approximateMessageBytes } from '../../../../lib/platform/kafka/producer.ts';
import { replay } from '../../../../producers/replay/replay.ts';
import type { EventCodec } from '../../../../lib/domain/events.ts';

const HEADER =
  'Date,Location,MinTemp,MaxTemp,Rainfall,Evaporation,Sunshine,WindGustDir,WindGustSpeed,WindDir9am,WindDir3pm,WindSpeed9am,WindSpeed3pm,Humidity9am,Humidity3pm,Pressure9am,Pressure3pm,Cloud9am,Cloud3pm,Temp9am,Temp3pm,RainToday,RainTomorrow';
const row = (date: string, loc: string) =>
  `${date},${loc},10,20,0,NA,NA,W,44,W,WNW,20,24,71,22,1007.7,1007.1,8,NA,16.9,21.8,No,No`;
const days = ['2010-01-01', '2010-01-02', '2010-01-03', '2010-01-04', '2010-01-05'];
const rows = parseWeatherCsv(
  [
    HEADER,
    ...days.flatMap((d) => [row(d, 'Sydney'), row(d, 'Perth')]),
    row('2010-01-06', 'Perth').replace('W,44', 'XX,44'),
  ].join('\n'),
);

/** Records what the replay hands to Kafka, in order; the loop under test is pacing and ordering. */
function recorder() {
  const sends: { topic: string; messages: Message[] }[] = [];
  const log: string[] = [];
  const producer = {
    send: async ({ topic, messages }: { topic: string; messages: Message[] }) => {
      sends.push({ topic, messages });
      log.push(`send ${topic} ${messages.length}`);
      return [];
    },
  } as unknown as Producer;
  const codec = {
    encode: (_kind: string, o: { date: string }) => Buffer.from(o.date),
  } as unknown as EventCodec;
  return { sends, log, producer, codec };
}

const topics = { observations: 'obs', observationsDlq: 'dlq' } as never;
const logger = createLogger({ logLevel: 'silent' });

/** A clock that only sleeps move, and the sleeps asked for: pacing is checked without waiting. */
function virtualTime() {
  let now = 0;
  const sleeps: number[] = [];
  return {
    sleeps,
    clock: () => now,
    sleep: async (ms: number) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}

describe('replay', () => {
  it('sends invalid rows to the DLQ first, then days in order keyed by station', async () => {
    const r = recorder();
    const summary = await replay(rows, 'f.csv', { speed: 0, quiet: true }, { ...r, topics, logger });
    expect(summary).toMatchObject({
      events: 10,
      rejected: 1,
      days: 5,
      firstDate: '2010-01-01',
      lastDate: '2010-01-05',
    });
    expect(r.sends[0]!.topic).toBe('dlq');
    const sent = r.sends.filter((s) => s.topic === 'obs').flatMap((s) => s.messages);
    expect(sent.map((m) => `${String(m.value)} ${String(m.key)}`)).toEqual(
      days.flatMap((d) => [`${d} Perth`, `${d} Sydney`]),
    );
  });

  it('waits for the first trained champion once, after the warm-up, then paces days', async () => {
    const r = recorder();
    const time = virtualTime();
    await replay(
      rows,
      'f.csv',
      { speed: 2, warmupUntil: '2010-01-02', quiet: true },
      {
        ...r,
        topics,
        logger,
        clock: time.clock,
        sleep: time.sleep,
        waitForTrainedChampion: async () => {
          r.log.push('wait');
        },
      },
    );
    // The warm-up days go out in one send before the wait; after it, one send per day.
    expect(r.log).toEqual(['send dlq 1', 'send obs 4', 'wait', 'send obs 2', 'send obs 2', 'send obs 2']);
    expect(time.sleeps).toEqual([500, 500, 500]);
  });

  it('paces by events per second: the days per second follow from the events per day', async () => {
    const r = recorder();
    const time = virtualTime();
    // Two stations a day: 4 events/s is 2 days/s, a day every 500 ms.
    await replay(
      rows,
      'f.csv',
      { speed: 0, eventsPerS: 4, quiet: true },
      {
        ...r,
        topics,
        logger,
        clock: time.clock,
        sleep: time.sleep,
      },
    );
    expect(time.sleeps).toEqual([500, 500, 500, 500, 500]);
  });

  it('says where each event was read: the file name and the CSV line (schema v2 sourcePosition)', async () => {
    const r = recorder();
    const encoded: { date: string; location: string; sourcePosition?: string | null }[] = [];
    const codec = {
      encode: (_kind: string, o: (typeof encoded)[number]) => {
        encoded.push(o);
        return Buffer.from(o.date);
      },
    } as unknown as EventCodec;
    await replay(rows, '/data/slice.csv', { speed: 0, quiet: true }, { ...r, codec, topics, logger });
    // Lines of the file: header on 1, then Sydney and Perth of each day on 2, 3, 4, 5...
    expect(encoded.slice(0, 2).map((o) => `${o.location} ${o.sourcePosition}`)).toEqual([
      'Perth file:slice.csv:3',
      'Sydney file:slice.csv:2',
    ]);
  });

  it('goes on past a 520 kB line and a conflicting repeat, each a bounded DLQ record with its line', async () => {
    const r = recorder();
    const hostile = parseWeatherCsv(
      [
        HEADER,
        row('2010-01-01', 'Sydney'),
        `2010-01-02,Sydney,${'9'.repeat(520 * 1024)}`,
        row('2010-01-01', 'Sydney').replace(',0,NA', ',5,NA').replace('No,No', 'Yes,No'),
        row('2010-01-02', 'Sydney'),
      ].join('\n'),
    );
    const summary = await replay(hostile, 'h.csv', { speed: 0, quiet: true }, { ...r, topics, logger });
    expect(summary).toMatchObject({ events: 2, rejected: 2 });
    const dead = r.sends.filter((s) => s.topic === 'dlq').flatMap((s) => s.messages);
    expect(dead.map((m) => readDlqHeaders(m.headers!))).toEqual([
      expect.objectContaining({
        field: 'row',
        kind: 'invalid',
        sourceTopic: 'file:h.csv',
        sourceOffset: '3',
        valueBytes: 532_498,
      }),
      expect.objectContaining({
        field: 'row',
        kind: 'conflict',
        sourceOffset: '4',
        conflicting: expect.stringContaining('"line":2'),
      }),
    ]);
    for (const m of dead) expect(approximateMessageBytes(m)).toBeLessThan(70 * 1024);
  });
});

/**
 * A topic of two partitions as a ReplayLog sees it (Perth on 0, Sydney on 1): what a producer appended,
 * in order. `failAfter` makes a send land only its first n messages and then fail, as a broker that goes
 * away mid-request does.
 */
function fakeLog(initial: Array<{ date: string; location: string }> = []) {
  const partitionOf = (location: string) => (location === 'Perth' ? 0 : 1);
  const appended: Array<{ date: string; location: string }> = [...initial];
  let failAfter: number | null = null;
  const producer = {
    send: async ({ topic, messages }: { topic: string; messages: Message[] }) => {
      if (topic !== 'obs') return [];
      const n = failAfter ?? messages.length;
      for (const m of messages.slice(0, n)) appended.push({ date: String(m.value), location: String(m.key) });
      if (failAfter !== null) {
        failAfter = null;
        throw Object.assign(new Error('Connection error: broker went away'), { retriable: true });
      }
      return [];
    },
  } as unknown as Producer;
  const replayLog = {
    ends: async () =>
      new Map([
        [0, 0n],
        [1, BigInt(appended.length)],
      ]),
    lastSent: async () => {
      const last = new Map<number, { date: string; location: string }>();
      for (const a of appended) last.set(partitionOf(a.location), a);
      return last;
    },
    partitionOf,
    close: async () => undefined,
  };
  const codec = {
    encode: (_kind: string, o: { date: string }) => Buffer.from(o.date),
  } as unknown as EventCodec;
  return { appended, producer, replayLog, codec, failNextSendAfter: (n: number) => (failAfter = n) };
}

describe('replay through faults', () => {
  it('retries a send that failed half-way and sends only what did not land', async () => {
    const f = fakeLog();
    f.failNextSendAfter(3);
    const summary = await replay(rows, 'f.csv', { speed: 0, quiet: true }, { ...f, topics, logger });
    expect(f.appended.map((a) => `${a.date} ${a.location}`)).toEqual(
      days.flatMap((d) => [`${d} Perth`, `${d} Sydney`]),
    );
    expect(summary).toMatchObject({ events: 10, retriedSends: 1, alreadyInLog: 0 });
  });

  it('resumes after what an earlier run left in the log, re-sending nothing, and skips the DLQ it sent', async () => {
    // The earlier run died with Perth up to the 3rd and Sydney up to the 2nd in the log.
    const earlier = [
      ...['2010-01-01', '2010-01-02', '2010-01-03'].map((date) => ({ date, location: 'Perth' })),
      ...['2010-01-01', '2010-01-02'].map((date) => ({ date, location: 'Sydney' })),
    ];
    const f = fakeLog(earlier);
    const sent: string[] = [];
    const producer = {
      send: async (r: { topic: string; messages: Message[] }) => {
        sent.push(r.topic);
        return f.producer.send(r);
      },
    } as unknown as Producer;
    const summary = await replay(
      rows,
      'f.csv',
      { speed: 0, quiet: true, resume: true },
      { ...f, producer, topics, logger },
    );
    expect(sent).not.toContain('dlq');
    expect(f.appended.slice(earlier.length).map((a) => `${a.date} ${a.location}`)).toEqual([
      '2010-01-03 Sydney',
      '2010-01-04 Perth',
      '2010-01-04 Sydney',
      '2010-01-05 Perth',
      '2010-01-05 Sydney',
    ]);
    expect(summary).toMatchObject({ events: 5, alreadyInLog: 5, resumedAfter: '2010-01-02' });
  });
});
