/**
 * Crash and state loss: the stages run in a child process that is SIGKILLed mid-stream, Redis loses every
 * key of the deployment, and a new process takes over. Kafka is the source of truth: the restarted stages
 * rebuild their state from the log up to their committed offsets, re-process what was not committed, and
 * the idempotent sinks make the replayed part invisible. The result must equal an uninterrupted run:
 * one prediction per observation, one label per joinable day, and feature values equal to the offline
 * training matrix built from the same observations.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTrainingMatrix } from '../../../lib/domain/features/matrix.ts';
import { FEATURE_NAMES } from '../../../lib/domain/features/feature-set.ts';
import type { Producer } from '../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import { deleteByPrefix } from '../../../lib/platform/redis.ts';
import { readWeatherCsvFile, type CsvRow } from '../../../lib/domain/weather/csv.ts';
import type { Observation } from '../../../lib/domain/weather/observation.ts';
import { replay, type ReplayOptions } from '../../../producers/replay/replay.ts';
import { planReplay } from '../../../producers/replay/plan.ts';
import { waitForDrain } from '../../../lib/deployment/drain.ts';
import { pollUntil, testContext, type TestContext } from '../../support/integration.ts';
import {
  countKeys,
  keysOn,
  startPipelineProcess,
  type PipelineProcess,
} from '../../support/pipeline-process.ts';
import type { EventCodec } from '../../../lib/domain/events.ts';
import { DEFAULT_DATA_FILE } from '../../../lib/platform/config.ts';

const DATA = DEFAULT_DATA_FILE;
const OPTIONS: ReplayOptions = {
  locations: ['Albury', 'Darwin', 'Hobart'],
  from: '2011-01-01',
  to: '2011-12-31',
  speed: 60,
  quiet: true,
};

describe('recovery after a crash and a Redis flush', () => {
  let ctx: TestContext;
  let producer: Producer;
  let codec: EventCodec;
  let rows: CsvRow[];
  let child: PipelineProcess | null = null;
  let observations: Observation[];
  let killedAt = 0;

  const startStages = async () => {
    child = await startPipelineProcess({
      env: { ...ctx.env, RETRAIN_ENABLED: 'false' },
      stages: ['features', 'predictor', 'labeler'],
      output: 'inherit',
    });
    await child.waitReady(60_000);
    return child;
  };
  const count = async (sql: string) => Number((await ctx.clickhouse.rows<{ n: string }>(sql))[0]!.n);

  beforeAll(async () => {
    ctx = await testContext('recovery');
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    rows = await readWeatherCsvFile(DATA);
    observations = planReplay(rows, OPTIONS).days.flatMap((d) => d.observations);
    producer = createProducer(ctx.kafka);
    await producer.connect();

    const first = await startStages();
    const replaying = replay(rows, 'slice', OPTIONS, {
      producer,
      codec,
      topics: ctx.config.topics,
      logger: ctx.logger,
    });
    // Kill -9 in the middle of the stream, then lose every Redis key of the deployment.
    killedAt = await pollUntil(
      async () => {
        const n = await count(`SELECT count() AS n FROM predictions WHERE task = 'rain'`);
        return n >= observations.length / 3 ? n : null;
      },
      { timeoutMs: 60_000, intervalMs: 20, what: 'a third of the predictions' },
    );
    await first.kill('SIGKILL');
    await deleteByPrefix(ctx.redis.client, ctx.redis.prefix);
    await startStages();
    const summary = await replaying;
    expect(summary.events).toBe(observations.length);
    await waitForDrain(ctx.clickhouse, { predictions: observations.length, stallMs: 60_000 });
  }, 240_000);

  afterAll(async () => {
    await child?.kill('SIGTERM');
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  it('was killed part-way through', () => {
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(observations.length);
  });

  it('ends with exactly one prediction per observation', async () => {
    expect(await count(`SELECT count() AS n FROM predictions FINAL WHERE task = 'rain'`)).toBe(
      observations.length,
    );
  });

  it('leaves no duplicate (station, date) on any topic: outputs and offsets were committed together', async () => {
    const features = countKeys(await keysOn(ctx.kafka, codec, ctx.config.topics.features, 'features'));
    const predictions = countKeys(
      await keysOn(ctx.kafka, codec, ctx.config.topics.predictions, 'prediction'),
    );
    const labeled = countKeys(await keysOn(ctx.kafka, codec, ctx.config.topics.labeled, 'labeled'));
    expect(features).toEqual({ records: observations.length, keys: observations.length, duplicated: 0 });
    expect(predictions).toEqual({ records: observations.length, keys: observations.length, duplicated: 0 });
    expect(labeled.duplicated).toBe(0);
    expect(labeled.records).toBe(
      await count(`SELECT count() AS n FROM labeled_examples FINAL WHERE task = 'rain'`),
    );
  });

  it('ends with the labels of an uninterrupted run, computed from the same features as offline training', async () => {
    const offline = buildTrainingMatrix(
      [...observations].sort((a, b) =>
        a.location < b.location ? -1 : a.location > b.location ? 1 : a.date < b.date ? -1 : 1,
      ),
    );
    const stored = await ctx.clickhouse.rows<{
      location: string;
      date: string;
      features: number[];
      label: number;
    }>(
      `SELECT location, toString(date) AS date, features, label FROM labeled_examples FINAL WHERE task = 'rain'`,
    );
    expect(stored.length).toBe(offline.dataset.nRows);
    const rowOf = new Map(offline.dates.map((d, i) => [`${offline.locations[i]}|${d}`, i]));
    const n = offline.dataset.nRows;
    let compared = 0;
    for (const s of stored) {
      const i = rowOf.get(`${s.location}|${s.date}`);
      expect(i, `${s.location} ${s.date} is a labeled day offline too`).toBeDefined();
      expect(s.label).toBe(offline.target[i!]);
      for (let j = 0; j < FEATURE_NAMES.length; j++) {
        const want = offline.dataset.data[j * n + i!]!;
        // ClickHouse writes NaN as null in JSON output.
        const got = s.features[j] === null ? NaN : Number(s.features[j]);
        if (Number.isNaN(want))
          expect(Number.isNaN(got), `${FEATURE_NAMES[j]} of ${s.location} ${s.date}`).toBe(true);
        // 18.16 prints Float64 with 16 significant digits in JSON: equal up to the last one.
        else
          expect(Math.abs(got - want), `${FEATURE_NAMES[j]} of ${s.location} ${s.date}`).toBeLessThanOrEqual(
            1e-12 * Math.max(1, Math.abs(want)),
          );
      }
      compared++;
    }
    expect(compared).toBe(n);
  });
});
