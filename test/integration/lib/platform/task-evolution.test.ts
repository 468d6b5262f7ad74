/**
 * Prediction and LabeledExample gained `task` (default rain), `value` and `target` (default null) for the
 * tasks of lib/models/tasks.ts. On the real registry, under BACKWARD compatibility: a deployment whose
 * topics hold events of the versions before tasks registers the new ones as new versions of the same
 * subjects, decodes the old events as rain's, and the label join joins old-version predictions as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from '../../../../consumers/host/pipeline.ts';
import { SCHEMA_FILES, SCHEMAS_DIR, type EventCodec } from '../../../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../../lib/domain/features/feature-set.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { createProducer, sendBounded } from '../../../../lib/platform/kafka/producer.ts';
import {
  createSchemaRegistry,
  readSchemaFile,
  registerSchema,
  valueSubject,
} from '../../../../lib/platform/schema-registry.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';

const NEW_FIELDS = new Set(['task', 'value', 'target']);

/** A schema file as it was before tasks: the new fields left out. */
async function beforeTasks(file: string): Promise<string> {
  const now = JSON.parse(await readSchemaFile(SCHEMAS_DIR, file)) as { fields: { name: string }[] };
  return JSON.stringify({ ...now, fields: now.fields.filter((f) => !NEW_FIELDS.has(f.name)) });
}

const STATION = 'Darwin';
const DAYS = Array.from({ length: 6 }, (_, i) => addDays('2016-01-01', i));

describe('Prediction and LabeledExample with tasks', () => {
  let ctx: TestContext;
  let producer: Producer;
  let codec: EventCodec;
  const ids: Record<string, number> = {};
  const oldPredictions: Buffer[] = [];
  let oldLabeled: Buffer;

  beforeAll(async () => {
    ctx = await testContext('tasks_evolution');
    await ctx.ensureTopics();
    producer = createProducer(ctx.kafka);
    await producer.connect();
    const registry = createSchemaRegistry(ctx.config);
    ids.prediction = await registerSchema(
      registry,
      valueSubject(ctx.config.topics.predictions),
      await beforeTasks(SCHEMA_FILES.prediction),
    );
    ids.labeled = await registerSchema(
      registry,
      valueSubject(ctx.config.topics.labeled),
      await beforeTasks(SCHEMA_FILES.labeled),
    );
    for (const [i, date] of DAYS.entries()) {
      oldPredictions.push(
        await registry.encode(ids.prediction, {
          location: STATION,
          date,
          probability: 0.3,
          decision: false,
          threshold: 0.5,
          modelVersion: 'prior-climatology',
          featureSetVersion: FEATURE_SET_VERSION,
          values: FEATURE_NAMES.map(() => i),
          rainToday: i % 2 === 0,
          rainfall: i % 2 === 0 ? 4 : 0,
          ingestedAt: 0,
          predictedAt: 0,
        }),
      );
    }
    oldLabeled = await registry.encode(ids.labeled, {
      location: STATION,
      date: DAYS[0],
      featureSetVersion: FEATURE_SET_VERSION,
      values: FEATURE_NAMES.map(() => 0),
      label: true,
      rainfallNext: 4,
      probability: 0.3,
      modelVersion: 'prior-climatology',
    });
    // This build starts: it registers the versions with tasks beside the old ones.
    codec = await ctx.registerSchemas();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  it('registers as new versions of the same subjects', async () => {
    for (const topic of [ctx.config.topics.predictions, ctx.config.topics.labeled]) {
      const subject = encodeURIComponent(valueSubject(topic));
      const response = await fetch(`${ctx.config.registry.url}/subjects/${subject}/versions`);
      expect(await response.json()).toEqual([1, 2]);
    }
    expect(codec.schemaIds.prediction).not.toBe(ids.prediction);
    expect(codec.schemaIds.labeled).not.toBe(ids.labeled);
  });

  it('decodes events written before tasks as rain, with no value or target', async () => {
    expect(await codec.decode('prediction', oldPredictions[0]!)).toMatchObject({
      location: STATION,
      task: 'rain',
      value: null,
      probability: 0.3,
    });
    expect(await codec.decode('labeled', oldLabeled)).toMatchObject({
      task: 'rain',
      target: null,
      value: null,
      label: true,
    });
  });

  it('joins old-version predictions into rain labels', async () => {
    await sendBounded(
      producer,
      ctx.config.topics.predictions,
      oldPredictions.map((value) => ({ key: STATION, value })),
    );
    const pipeline = await startPipeline(ctx.config, ctx.logger, ['labeler']);
    try {
      const rows = await pollUntil(
        async () => {
          const r = await ctx.clickhouse.rows<{ task: string; n: string }>(
            `SELECT task, count() AS n FROM labeled_examples FINAL GROUP BY task`,
          );
          return r.length > 0 && Number(r[0]!.n) >= DAYS.length - 1 ? r : undefined;
        },
        { timeoutMs: 60_000, what: 'the labels of the old-version predictions' },
      );
      expect(rows).toEqual([{ task: 'rain', n: String(DAYS.length - 1) }]);
    } finally {
      await pipeline.stop();
    }
  });
});
