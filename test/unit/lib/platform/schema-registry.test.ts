import { describe, expect, it } from 'vitest';
import { RainstreamError } from '../../../../lib/platform/errors.ts';
import {
  readWireHeader,
  registryError,
  valueSubject,
  writeWireHeader,
} from '../../../../lib/platform/schema-registry.ts';
import { EVENT_KINDS, SCHEMA_FILES, TOPIC_OF_KIND } from '../../../../lib/domain/events.ts';

describe('wire header', () => {
  it('round-trips the schema id and body', () => {
    const framed = writeWireHeader(0x01020304, Buffer.from('body'));
    expect([...framed.subarray(0, 5)]).toEqual([0, 1, 2, 3, 4]);
    const { schemaId, body } = readWireHeader(framed);
    expect(schemaId).toBe(0x01020304);
    expect(body.toString()).toBe('body');
  });

  it('refuses short buffers and foreign magic bytes as DECODE', () => {
    for (const bad of [Buffer.alloc(0), Buffer.from([0, 0, 0, 1]), Buffer.from([1, 0, 0, 0, 1, 9])]) {
      expect(() => readWireHeader(bad)).toThrow(RainstreamError);
      try {
        readWireHeader(bad);
      } catch (e) {
        expect((e as RainstreamError).code).toBe('DECODE');
      }
    }
  });
});

describe('subjects', () => {
  it('map every event kind to a topic, TopicNameStrategy', () => {
    expect(EVENT_KINDS.sort()).toEqual(Object.keys(SCHEMA_FILES).sort());
    expect(new Set(Object.values(TOPIC_OF_KIND)).size).toBe(EVENT_KINDS.length);
    expect(valueSubject('rs.observations.v1')).toBe('rs.observations.v1-value');
  });
});

describe('registryError', () => {
  const response = (status: number, message: string) => Object.assign(new Error(message), { status });

  it('maps refusals to final errors', () => {
    expect(registryError(response(409, 'incompatible'), 'x')).toMatchObject({
      code: 'SCHEMA_INCOMPATIBLE',
      retriable: false,
    });
    expect(registryError(response(422, 'bad schema'), 'x')).toMatchObject({
      code: 'SCHEMA_INVALID',
      retriable: false,
    });
    expect(registryError(response(404, 'no such id'), 'x')).toMatchObject({ code: 'SCHEMA_NOT_FOUND' });
  });

  it('maps a failed connection (which the client reports as status 400) and 5xx to retriable', () => {
    const refused = response(
      400,
      'Confluent_Schema_Registry - Error, status 400: connect ECONNREFUSED 127.0.0.1:9',
    );
    expect(registryError(refused, 'x')).toMatchObject({ code: 'REGISTRY_UNAVAILABLE', retriable: true });
    expect(registryError(response(503, 'unavailable'), 'x')).toMatchObject({ code: 'REGISTRY_UNAVAILABLE' });
    expect(registryError(response(400, 'Error, status 400: Invalid schema'), 'x')).toMatchObject({
      code: 'SCHEMA_INVALID',
      retriable: false,
    });
  });
});
