import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetFromColumns } from '../../lib/ml/dataset.ts';
import type { Dataset } from '../../lib/ml/model.ts';
import type { CsvRow } from '../../lib/domain/weather/csv.ts';
import { nextDayValues } from '../../lib/domain/weather/next-day.ts';
import {
  COMPASS_POINTS,
  DIRECTION_FIELDS,
  NUMERIC_FIELDS,
  type Observation,
} from '../../lib/domain/weather/observation.ts';

/**
 * Protocol 1 of EVALUATION.md with raw columns: numeric readings as they are, wind directions as sin/cos,
 * Location as an integer code, month as sin/cos, RainToday 0/1, NaN for missing; rows with unknown
 * RainTomorrow dropped; train Date < 2016-01-01, test after. Rows are sorted by (date, location) so the
 * tail of the training rows is its latest part (the GBDT's early-stopping slice is chronological).
 */

export const PROTOCOL1_CUTOFF = '2016-01-01';

export interface Labeled {
  readonly data: Dataset;
  readonly target: Float64Array;
}

export interface Protocol1 {
  readonly featureNames: readonly string[];
  readonly train: Labeled;
  readonly test: Labeled;
  readonly trainDates: readonly string[];
  readonly testDates: readonly string[];
}

const numericKeys = Object.keys(NUMERIC_FIELDS) as (keyof typeof NUMERIC_FIELDS)[];
const directionKeys = Object.keys(DIRECTION_FIELDS) as (keyof typeof DIRECTION_FIELDS)[];

export const PROTOCOL1_FEATURES: readonly string[] = [
  ...numericKeys,
  ...directionKeys.flatMap((k) => [`${k}Sin`, `${k}Cos`]),
  'location',
  'monthSin',
  'monthCos',
  'rainToday',
];

function directionAngle(point: string | null): number {
  if (point === null) return NaN;
  return (COMPASS_POINTS.indexOf(point as (typeof COMPASS_POINTS)[number]) * 2 * Math.PI) / 16;
}

function toMatrix(
  obs: readonly Observation[],
  labels: readonly number[],
  locations: Map<string, number>,
): Labeled {
  const n = obs.length;
  const d = PROTOCOL1_FEATURES.length;
  const data = new Float32Array(n * d);
  const target = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const o = obs[r]!;
    let c = 0;
    const put = (v: number) => {
      data[c++ * n + r] = v;
    };
    for (const k of numericKeys) put(o[k] ?? NaN);
    for (const k of directionKeys) {
      const a = directionAngle(o[k]);
      put(Math.sin(a));
      put(Math.cos(a));
    }
    put(locations.get(o.location)!);
    const month = Number(o.date.slice(5, 7));
    put(Math.sin((2 * Math.PI * (month - 1)) / 12));
    put(Math.cos((2 * Math.PI * (month - 1)) / 12));
    put(o.rainToday === null ? NaN : o.rainToday ? 1 : 0);
    target[r] = labels[r]!;
  }
  return { data: datasetFromColumns(PROTOCOL1_FEATURES, n, data), target };
}

export function buildProtocol1(rows: readonly CsvRow[]): Protocol1 {
  const known: { o: Observation; y: number }[] = [];
  for (const row of rows)
    if (row.ok && row.rainTomorrow !== null) known.push({ o: row.observation, y: row.rainTomorrow ? 1 : 0 });
  return splitByDate(known);
}

/**
 * The second task of EVALUATION.md on protocol 1's split and features: the target is the same station's
 * MaxTemp on the next calendar day (lib/domain/weather/next-day.ts), so the rows are every observation
 * whose next day exists with a MaxTemp, whether or not its RainTomorrow is known.
 */
export function buildMaxTempProtocol(rows: readonly CsvRow[]): Protocol1 {
  const obs = rows.flatMap((row) => (row.ok ? [row.observation] : []));
  const next = nextDayValues(obs, 'maxTemp');
  const known: { o: Observation; y: number }[] = [];
  obs.forEach((o, i) => {
    const y = next[i];
    if (y !== null && y !== undefined) known.push({ o, y });
  });
  return splitByDate(known);
}

function splitByDate(known: { o: Observation; y: number }[]): Protocol1 {
  known.sort((a, b) =>
    a.o.date < b.o.date ? -1 : a.o.date > b.o.date ? 1 : a.o.location < b.o.location ? -1 : 1,
  );
  const locations = new Map(
    [...new Set(known.map((k) => k.o.location))].sort().map((l, i) => [l, i] as const),
  );
  const train = known.filter((k) => k.o.date < PROTOCOL1_CUTOFF);
  const test = known.filter((k) => k.o.date >= PROTOCOL1_CUTOFF);
  const build = (part: typeof known) =>
    toMatrix(
      part.map((k) => k.o),
      part.map((k) => k.y),
      locations,
    );
  return {
    featureNames: PROTOCOL1_FEATURES,
    train: build(train),
    test: build(test),
    trainDates: train.map((k) => k.o.date),
    testDates: test.map((k) => k.o.date),
  };
}

/**
 * Writes `<name>.x.f32` (column-major Float32, the Dataset's own layout), `<name>.y.f64` and
 * `<name>.json` (feature names, rows) so every model, in Node or Python, reads the identical matrix.
 */
export function writeLabeled(dir: string, name: string, labeled: Labeled): void {
  const { data, target } = labeled;
  const x = data.data instanceof Float32Array ? data.data : Float32Array.from(data.data);
  writeFileSync(join(dir, `${name}.x.f32`), new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
  writeFileSync(
    join(dir, `${name}.y.f64`),
    new Uint8Array(target.buffer, target.byteOffset, target.byteLength),
  );
  writeFileSync(
    join(dir, `${name}.json`),
    JSON.stringify({ featureNames: data.featureNames, nRows: data.nRows }),
  );
}

export function readLabeled(dir: string, name: string): Labeled {
  const meta = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as {
    featureNames: string[];
    nRows: number;
  };
  const xBytes = readFileSync(join(dir, `${name}.x.f32`));
  const yBytes = readFileSync(join(dir, `${name}.y.f64`));
  // Copy into fresh, aligned buffers (a Buffer may sit at any offset of a shared pool).
  const x = new Float32Array(xBytes.byteLength / 4);
  new Uint8Array(x.buffer).set(xBytes);
  const y = new Float64Array(yBytes.byteLength / 8);
  new Uint8Array(y.buffer).set(yBytes);
  return { data: datasetFromColumns(meta.featureNames, meta.nRows, x), target: y };
}

/** Float64 predictions file written by a child (Node or Python) for the parent to score. */
export function readPredictions(path: string, expectedRows: number): Float64Array {
  const bytes = readFileSync(path);
  const p = new Float64Array(bytes.byteLength / 8);
  new Uint8Array(p.buffer).set(bytes);
  if (p.length !== expectedRows)
    throw new Error(`${path} holds ${p.length} predictions, expected ${expectedRows}`);
  return p;
}

export function writePredictions(path: string, p: Float64Array): void {
  writeFileSync(path, new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
}
