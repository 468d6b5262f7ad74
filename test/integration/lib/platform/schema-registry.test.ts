import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import type {
  DriftAlert,
  FeatureVector,
  LabeledExample,
  ModelEvent,
  Observation,
  Prediction,
  EventCodec,
} from '../../../../lib/domain/events.ts';
import { createProducer, sendBounded } from '../../../../lib/platform/kafka/producer.ts';
import {
  createSchemaRegistry,
  readSchemaFile,
  registerSchema,
  valueSubject,
} from '../../../../lib/platform/schema-registry.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';
import { registerEvents, SCHEMA_FILES, SCHEMAS_DIR } from '../../../../lib/domain/events.ts';

let ctx: TestContext;
let codec: EventCodec;

beforeAll(async () => {
  ctx = await testContext('registry');
  await ctx.ensureTopics();
  codec = await ctx.registerSchemas();
});

afterAll(async () => ctx?.cleanup());

const observation: Observation = {
  location: 'Wagga Wagga',
  date: '2017-06-24',
  minTemp: -2.5,
  maxTemp: 14.1,
  rainfall: 0,
  evaporation: null,
  sunshine: null,
  windGustDir: 'WNW',
  windGustSpeed: 41,
  windDir9am: null,
  windDir3pm: 'W',
  windSpeed9am: 0,
  windSpeed3pm: 22,
  humidity9am: 99,
  humidity3pm: 47,
  pressure9am: 1021.3,
  pressure3pm: 1018.9,
  cloud9am: 8,
  cloud3pm: null,
  temp9am: 1.2,
  temp3pm: 13.6,
  rainToday: false,
  source: 'weatherAUS',
  sourcePosition: null,
};

const features: FeatureVector = {
  location: 'Albury',
  date: '2017-06-24',
  featureSetVersion: 'fs-1',
  values: [1.5, NaN, -0, 1e-300, Number.MAX_VALUE, NaN],
  rainToday: null,
  rainfall: null,
  ingestedAt: 1_700_000_000_123,
};

const prediction: Prediction = {
  location: `O'Connor`,
  date: '2017-06-24',
  probability: 0.731,
  decision: true,
  threshold: 0.5,
  modelVersion: 'm-0007',
  featureSetVersion: 'fs-1',
  values: [NaN, 2],
  rainToday: true,
  rainfall: 12.4,
  ingestedAt: 1_700_000_000_000,
  predictedAt: 1_700_000_000_042,
  task: 'rain',
  value: null,
};

const labeled: LabeledExample = {
  location: 'Albury',
  date: '2017-06-23',
  featureSetVersion: 'fs-1',
  values: [NaN, NaN, 3],
  label: true,
  rainfallNext: null,
  task: 'rain',
  target: null,
  value: null,
  probability: 0.2,
  modelVersion: 'm-0007',
};

const driftAlert: DriftAlert = {
  task: 'max_temp',
  week: '2017-06-19',
  modelVersion: 'm-0007',
  kind: 'shift',
  name: 'humidity3pm',
  statistic: 'residual_z',
  value: 6.31,
  threshold: 4.2,
  event: 'opened',
  station: 'Albury',
  incidentId: 'shift:Albury:humidity3pm:2017-06-19',
  openedWeek: '2017-06-19',
  importance: 0.41,
  rank: 1,
  weeksBreached: 1,
};

const modelEvent: ModelEvent = {
  alias: 'champion',
  version: 'm-0008',
  family: 'gbdt',
  previousVersion: null,
  reason: 'better on the last 8 weeks',
  at: 1_700_000_100_000,
};

/** Equality that tells NaN from a number and -0 from 0, element by element. */
function expectSameValues(actual: number[], expected: number[]) {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((v, i) => expect(Object.is(v, expected[i])).toBe(true));
}

describe('registry codec', () => {
  it('registers every schema under <topic>-value, and again with the same ids', async () => {
    const again = await registerEvents(createSchemaRegistry(ctx.config), ctx.config.topics);
    expect(again.schemaIds).toEqual(codec.schemaIds);
    const subjects = (await (await fetch(`${ctx.config.registry.url}/subjects`)).json()) as string[];
    for (const topic of [ctx.config.topics.observations, ctx.config.topics.modelEvents]) {
      expect(subjects).toContain(valueSubject(topic));
    }
    expect(subjects).not.toContain(valueSubject(ctx.config.topics.observationsDlq));
  });

  it('round-trips every event kind exactly: nullable unions as plain values, NaN in arrays', async () => {
    expect({ ...(await codec.decode('observation', codec.encode('observation', observation))) }).toEqual(
      observation,
    );
    const decodedFeatures = await codec.decode('features', codec.encode('features', features));
    expectSameValues(decodedFeatures.values, features.values);
    expect({ ...decodedFeatures, values: [] }).toEqual({ ...features, values: [] });
    const decodedPrediction = await codec.decode('prediction', codec.encode('prediction', prediction));
    expectSameValues(decodedPrediction.values, prediction.values);
    expect({ ...decodedPrediction, values: [] }).toEqual({ ...prediction, values: [] });
    const decodedLabeled = await codec.decode('labeled', codec.encode('labeled', labeled));
    expectSameValues(decodedLabeled.values, labeled.values);
    expect({ ...decodedLabeled, values: [] }).toEqual({ ...labeled, values: [] });
    expect({ ...(await codec.decode('driftAlert', codec.encode('driftAlert', driftAlert))) }).toEqual(
      driftAlert,
    );
    expect({ ...(await codec.decode('modelEvent', codec.encode('modelEvent', modelEvent))) }).toEqual(
      modelEvent,
    );
  });

  it('produces and consumes an Avro observation through Kafka and the registry', async () => {
    const producer = createProducer(ctx.kafka);
    await producer.connect();
    try {
      await sendBounded(producer, ctx.config.topics.observations, [
        { key: observation.location, value: codec.encode('observation', observation) },
      ]);
    } finally {
      await producer.disconnect();
    }
    const [record] = await ctx.consume(ctx.config.topics.observations, 1);
    expect(record.key!.toString()).toBe(observation.location);
    expect(record.value!.readInt32BE(1)).toBe(codec.schemaIds.observation);
    expect({ ...(await codec.decode('observation', record.value!)) }).toEqual(observation);
  });

  it('refuses to encode an invalid event, naming the field', () => {
    const bad = { ...observation, humidity3pm: 'high' } as unknown as Observation;
    const error = (() => {
      try {
        codec.encode('observation', bad);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(RainstreamError);
    expect(error).toMatchObject({ code: 'ENCODE', retriable: false, details: { field: 'humidity3pm' } });
  });

  it('turns undecodable bytes into a non-retriable DECODE error', async () => {
    const good = codec.encode('observation', observation);
    const cases: Buffer[] = [
      Buffer.from([]),
      Buffer.from([1, 0, 0, 0, 1, 2]), // wrong magic byte
      good.subarray(0, good.length - 3), // truncated
      Buffer.concat([good, Buffer.from([7])]), // trailing bytes
      Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0, 2, 65]), // a schema id the registry never issued
    ];
    for (const buffer of cases) {
      const error = await codec.decode('observation', buffer).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RainstreamError);
      expect(error).toMatchObject({ code: 'DECODE', retriable: false });
    }
    // A model event is not an observation.
    const other = await codec
      .decode('observation', codec.encode('modelEvent', modelEvent))
      .catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'DECODE' });
  });

  it('says the registry is unavailable (retriable) when nothing answers', async () => {
    const offline = createSchemaRegistry({ registry: { url: 'http://127.0.0.1:9' } });
    const error = await registerSchema(
      offline,
      'any-value',
      await readSchemaFile(SCHEMAS_DIR, SCHEMA_FILES.modelEvent),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RainstreamError);
    expect(error).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retriable: true });
  });
});

describe('schema evolution under BACKWARD compatibility', () => {
  const subject = () =>
    valueSubject(`${ctx.config.topics.observations.replace('.observations.v1', '')}.evolution`);

  it('refuses a breaking change with 409 and accepts a compatible one', async () => {
    const registry = createSchemaRegistry(ctx.config);
    const v1 = JSON.parse(await readSchemaFile(SCHEMAS_DIR, SCHEMA_FILES.observation));
    const v1Id = await registerSchema(registry, subject(), JSON.stringify(v1));

    // A new field without a default: readers of v2 could not read v1 records.
    const breaking = { ...v1, fields: [...v1.fields, { name: 'dewPoint', type: 'double' }] };
    const refused = await registerSchema(registry, subject(), JSON.stringify(breaking)).catch(
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RainstreamError);
    expect(refused).toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      retriable: false,
      details: { status: 409 },
    });

    // The same field with a default is fine.
    const compatible = {
      ...v1,
      fields: [...v1.fields, { name: 'dewPoint', type: ['null', 'double'], default: null }],
    };
    const v2Id = await registerSchema(registry, subject(), JSON.stringify(compatible));
    expect(v2Id).not.toBe(v1Id);
  });

  it('decodes a record written with a newer schema into the local one', async () => {
    const registry = createSchemaRegistry(ctx.config);
    const v1 = JSON.parse(await readSchemaFile(SCHEMAS_DIR, SCHEMA_FILES.observation));
    const v2 = {
      ...v1,
      fields: [...v1.fields, { name: 'dewPoint', type: ['null', 'double'], default: null }],
    };
    const v2Id = await registerSchema(
      registry,
      valueSubject(ctx.config.topics.observations),
      JSON.stringify(v2),
    );
    expect(v2Id).not.toBe(codec.schemaIds.observation);
    const written = await registry.encode(v2Id, { ...observation, dewPoint: 3.5 });
    const decoded = await codec.decode('observation', written);
    expect({ ...decoded }).toEqual(observation);
  });
});
