/**
 * The observation schema's second version (sourcePosition, default null) on the real registry, under
 * BACKWARD compatibility: a deployment whose observations topic already holds events written with the
 * first version registers the second as a new version of the same subject, and every stage, decoding
 * with the new local schema, still reads the old events (the codec resolves writer to reader) as well
 * as the new ones: each day of both gets its forecast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline } from '../../../../consumers/host/pipeline.ts';
import {
  SCHEMA_FILES,
  SCHEMAS_DIR,
  type EventCodec,
  type Observation,
} from '../../../../lib/domain/events.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { createProducer, sendBounded } from '../../../../lib/platform/kafka/producer.ts';
import {
  createSchemaRegistry,
  readSchemaFile,
  registerSchema,
  valueSubject,
} from '../../../../lib/platform/schema-registry.ts';
import { rainDay } from '../../../support/observations.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';

const STATION = 'Uluru';
const days = (from: string, n: number) => Array.from({ length: n }, (_, i) => addDays(from, i));
const OLD_DAYS = days('2020-03-01', 20);
const NEW_DAYS = days('2020-03-21', 20);

/** The observation schema as it was before sourcePosition (version 1). */
async function observationSchemaV1(): Promise<string> {
  const v2 = JSON.parse(await readSchemaFile(SCHEMAS_DIR, SCHEMA_FILES.observation)) as {
    fields: { name: string }[];
  };
  return JSON.stringify({ ...v2, fields: v2.fields.filter((f) => f.name !== 'sourcePosition') });
}

describe('observation schema v2 (sourcePosition)', () => {
  let ctx: TestContext;
  let producer: Producer;
  let codec: EventCodec;
  let v1Id: number;
  const v1Records: Buffer[] = [];

  beforeAll(async () => {
    ctx = await testContext('evolution');
    await ctx.ensureTopics();
    producer = createProducer(ctx.kafka);
    await producer.connect();
    // An older deployment: version 1 registered and events written with it.
    const registry = createSchemaRegistry(ctx.config);
    v1Id = await registerSchema(
      registry,
      valueSubject(ctx.config.topics.observations),
      await observationSchemaV1(),
    );
    for (const date of OLD_DAYS) {
      const old = rainDay(date, date.endsWith('5') ? 6 : 0, STATION);
      v1Records.push(await registry.encode(v1Id, { ...old, source: 'weatherAUS' }));
    }
    await sendBounded(
      producer,
      ctx.config.topics.observations,
      v1Records.map((value) => ({ key: STATION, value })),
    );
    // This build starts: it registers version 2 beside it.
    codec = await ctx.registerSchemas();
  });

  afterAll(async () => {
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  it('registers as a new version of the same subject', async () => {
    expect(codec.schemaIds.observation).not.toBe(v1Id);
    const subject = encodeURIComponent(valueSubject(ctx.config.topics.observations));
    const response = await fetch(`${ctx.config.registry.url}/subjects/${subject}/versions`);
    expect(await response.json()).toEqual([1, 2]);
  });

  it('decodes events of version 1 into the new shape, sourcePosition null', async () => {
    const decoded = await codec.decode('observation', v1Records[0]!);
    expect(v1Records[0]!.readInt32BE(1)).toBe(v1Id);
    expect(decoded).toMatchObject({
      location: STATION,
      date: OLD_DAYS[0],
      source: 'weatherAUS',
      sourcePosition: null,
    });
    const written: Observation = { ...rainDay(NEW_DAYS[0]!, 2, STATION), sourcePosition: 'file:x.csv:2' };
    expect({ ...(await codec.decode('observation', codec.encode('observation', written))) }).toEqual(written);
  });

  it('feeds old and new events alike through the stages: every day gets a forecast', async () => {
    await sendBounded(
      producer,
      ctx.config.topics.observations,
      NEW_DAYS.map((date, i) => ({
        key: STATION,
        value: codec.encode('observation', {
          ...rainDay(date, i % 4 === 0 ? 5 : 0, STATION),
          sourcePosition: `file:evolution.csv:${i + 2}`,
        }),
      })),
    );
    const pipeline = await startPipeline(ctx.config, ctx.logger, ['features', 'predictor', 'labeler']);
    try {
      const row = await pollUntil(
        async () => {
          const [r] = await ctx.clickhouse.rows<{ n: string; first: string; last: string }>(
            `SELECT count() AS n, toString(min(date)) AS first, toString(max(date)) AS last FROM predictions WHERE task = 'rain' AND location = '${STATION}'`,
          );
          return r && Number(r.n) >= OLD_DAYS.length + NEW_DAYS.length ? r : undefined;
        },
        { timeoutMs: 90_000, intervalMs: 500, what: 'a forecast for every day' },
      );
      expect(row).toEqual({ n: '40', first: OLD_DAYS[0], last: NEW_DAYS.at(-1) });
      expect(pipeline.metrics.snapshot().counters.features_dlq ?? 0).toBe(0);
    } finally {
      await pipeline.stop();
    }
  });
});
