import { describe, expect, it } from 'vitest';
import {
  ArtifactCodecError,
  artifactFromStoredText,
  artifactToStoredText,
  CODEC_VERSION,
  decodeArtifactValue,
  encodeArtifactValue,
} from '../../../../lib/ml/artifact-codec.ts';
import { forestFamily } from '../../../../lib/ml/forest.ts';
import { gbdtFamily } from '../../../../lib/ml/gbdt.ts';
import { logregFamily } from '../../../../lib/ml/linear.ts';
import { loadModel } from '../../../../lib/ml/families.ts';
import { ModelFormatError, type Dataset } from '../../../../lib/ml/model.ts';
import { Rng } from '../../../../lib/ml/tree-rng.ts';

const NAMES = ['a', 'b', 'c'];

function data(n: number): { data: Dataset; y: Float64Array } {
  const rng = new Rng(3);
  const d = new Float64Array(3 * n);
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    d[i] = rng.next();
    d[n + i] = rng.next() < 0.1 ? NaN : rng.next() * 10;
    d[2 * n + i] = Math.floor(rng.next() * 4);
    y[i] = d[i]! + rng.next() * 0.5 > 0.7 ? 1 : 0;
  }
  return { data: { featureNames: NAMES, nRows: n, data: d }, y };
}

describe('artifact codec', () => {
  const train = data(1500);
  const models = [
    gbdtFamily.fit(
      train.data,
      train.y,
      'classification',
      { maxIterations: 15, earlyStoppingRounds: 0 },
      { seed: 1 },
    ),
    forestFamily.fit(train.data, train.y, 'classification', { nTrees: 5, threads: 1 }, { seed: 1 }),
    logregFamily.fit(train.data, train.y, 'classification', {}, { seed: 1 }),
  ];

  it.each(models.map((m) => [m.family, m] as const))(
    'round-trips a %s bundle: same predictions, fewer bytes than JSON',
    (_family, model) => {
      const bundle = {
        model: model.toJSON(),
        clip: { format: 'rainstream.clip', lower: [null, 1.5], upper: [2, null] },
      };
      const text = artifactToStoredText(bundle);
      const back = artifactFromStoredText(text) as typeof bundle;
      expect(back.clip).toEqual(bundle.clip);
      const loaded = loadModel(back.model, NAMES);
      expect(Array.from(loaded.predictBatch(train.data))).toEqual(Array.from(model.predictBatch(train.data)));
      expect(encodeArtifactValue(bundle).length).toBeLessThan(JSON.stringify(bundle).length);
    },
  );

  it('still reads the JSON stored by earlier versions', () => {
    const bundle = { model: models[0]!.toJSON(), clip: null };
    const back = artifactFromStoredText(JSON.stringify(bundle)) as typeof bundle;
    expect(loadModel(back.model, NAMES).predictRow([0.5, 1, 2])).toBe(models[0]!.predictRow([0.5, 1, 2]));
  });

  it('refuses a bad magic, an unknown version, a truncated or corrupt payload with a typed error', () => {
    const bytes = encodeArtifactValue({ model: models[0]!.toJSON() });
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    const newer = bytes.slice();
    new DataView(newer.buffer).setUint16(4, CODEC_VERSION + 1, true);
    const truncated = bytes.slice(0, bytes.length - 10);
    const flipped = bytes.slice();
    flipped[20] = flipped[20]! ^ 0xff;
    for (const bad of [badMagic, newer, truncated, flipped, new Uint8Array(3)]) {
      let error: unknown;
      try {
        decodeArtifactValue(bad);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ArtifactCodecError);
      expect(error).toBeInstanceOf(ModelFormatError);
      expect((error as ModelFormatError).code).toBe('MODEL_FORMAT');
    }
    expect(() => decodeArtifactValue(newer)).toThrow(/codec version 2, this build reads 1/);
    expect(() => artifactFromStoredText('garbage')).toThrow(ArtifactCodecError);
    expect(() => artifactFromStoredText('rsma:AAAA')).toThrow(ArtifactCodecError);
  });

  it('keeps values exact: integers in the narrowest type, floats as they are, non-finite floats', () => {
    const value = {
      small: [0, 1, 2, 3, 4, 5, 6, 255],
      negative: [-1, -2, -3, -4, -5, -6, -7, -100000],
      floats: [0.1, 1e-300, -2.5, 3, 4, 5, 6, 7],
      special: ['Infinity', 1, 2, 3, 4, 5, 6, '-Infinity'],
      short: [1, 2],
      typed: Float64Array.of(1.5, NaN, -0.25),
      text: 'x',
    };
    const back = decodeArtifactValue(encodeArtifactValue(value)) as Record<string, unknown>;
    expect(back.small).toEqual(value.small);
    expect(back.negative).toEqual(value.negative);
    expect(back.floats).toEqual(value.floats);
    expect(back.special).toEqual([Infinity, 1, 2, 3, 4, 5, 6, -Infinity]);
    expect(back.short).toEqual([1, 2]);
    expect(back.typed).toEqual([1.5, NaN, -0.25]);
    expect(back.text).toBe('x');
  });
});
