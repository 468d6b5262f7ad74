/**
 * The drift benchmark's scenario, shared by its pipeline run and its in-memory sweep: a fixed champion
 * trained once on the early years (with the drift reference the trainer would build), the faults injected
 * into a copy of the observations, and the labeled stream as the pipeline's label join makes it.
 */
import { clipDataset, fitClipping, type ClipBounds } from '../../lib/domain/features/clipping.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import { buildTrainingMatrix, type TrainingMatrix } from '../../lib/domain/features/matrix.ts';
import type { Observation } from '../../lib/domain/weather/observation.ts';
import type { LabeledExample, Prediction } from '../../lib/domain/events.ts';
import { addDays, dayNumber, mondayOf } from '../../lib/domain/time.ts';
import { gbdtFamily } from '../../lib/ml/gbdt.ts';
import type { Dataset, Model } from '../../lib/ml/model.ts';
import { permutationImportance, type DriftReference } from '../../lib/ml/reference.ts';
import { driftReferenceFor } from '../../consumers/drift/reference.ts';

export interface Fault {
  name: string;
  station: string;
  /** Fields the fault touches: an incident on any of them at the station is a detection. */
  fields: readonly (keyof Observation)[];
  from: string;
  apply(o: Observation, state: Map<string, number>): void;
}

export function faults(
  from: Readonly<
    Record<'pressure' | 'stuck' | 'humidity' | 'temperature', { station: string; from: string }>
  >,
): Fault[] {
  return [
    {
      name: 'pressure +8 hPa',
      station: from.pressure.station,
      fields: ['pressure9am', 'pressure3pm'],
      from: from.pressure.from,
      apply(o) {
        if (o.pressure9am !== null) o.pressure9am += 8;
        if (o.pressure3pm !== null) o.pressure3pm += 8;
      },
    },
    {
      name: 'stuck wind gust sensor',
      station: from.stuck.station,
      fields: ['windGustSpeed'],
      from: from.stuck.from,
      apply(o, state) {
        // The sensor repeats the last value it read before failing.
        const held = state.get('windGustSpeed');
        if (held === undefined) {
          if (o.windGustSpeed !== null) state.set('windGustSpeed', o.windGustSpeed);
        } else o.windGustSpeed = held;
      },
    },
    {
      name: 'humidity stops reporting',
      station: from.humidity.station,
      fields: ['humidity9am', 'humidity3pm'],
      from: from.humidity.from,
      apply(o) {
        o.humidity9am = null;
        o.humidity3pm = null;
      },
    },
    {
      name: 'temperatures +3 °C',
      station: from.temperature.station,
      fields: ['minTemp', 'maxTemp', 'temp9am', 'temp3pm'],
      from: from.temperature.from,
      apply(o) {
        for (const k of ['minTemp', 'maxTemp', 'temp9am', 'temp3pm'] as const)
          if (o[k] !== null) o[k] = o[k]! + 3;
      },
    },
  ];
}

/** A copy of the observations with the faults applied from their dates on (observations in date order). */
export function injectFaults(observations: readonly Observation[], list: readonly Fault[]): Observation[] {
  const states = list.map(() => new Map<string, number>());
  return observations.map((o) => {
    let copy: Observation | null = null;
    list.forEach((f, i) => {
      if (o.location !== f.station || o.date < f.from) return;
      copy ??= { ...o };
      f.apply(copy, states[i]!);
    });
    return copy ?? o;
  });
}

export interface FixedChampion {
  version: string;
  model: Model;
  clip: ClipBounds;
  reference: DriftReference;
  trainRows: number;
  validationRows: number;
  trainStart: string;
  trainEnd: string;
  positives: number;
  trainSeconds: number;
}

function rowsWhere(m: TrainingMatrix, keep: (date: string) => boolean): Int32Array {
  const out: number[] = [];
  for (let r = 0; r < m.dataset.nRows; r++) if (keep(m.dates[r]!)) out.push(r);
  return Int32Array.from(out);
}

function slice(m: TrainingMatrix, rows: Int32Array): { data: Dataset; target: Float64Array } {
  const n = rows.length;
  const F = m.dataset.featureNames.length;
  const N = m.dataset.nRows;
  const data = new Float64Array(n * F);
  const target = new Float64Array(n);
  for (let c = 0; c < F; c++) for (let i = 0; i < n; i++) data[c * n + i] = m.dataset.data[c * N + rows[i]!]!;
  for (let i = 0; i < n; i++) target[i] = m.target[rows[i]!]!;
  return { data: { featureNames: m.dataset.featureNames, nRows: n, data }, target };
}

/**
 * The champion a weekly run would have produced at `boundary`: GBDT (the weekly settings) on every labeled
 * row before the last `validationWeeks` weeks, validated on those, with its drift reference.
 */
export function trainFixedChampion(
  observations: readonly Observation[],
  boundary: string,
  validationWeeks = 8,
  trained?: { model: Model; clip: ClipBounds },
): FixedChampion {
  const m = buildTrainingMatrix(observations.filter((o) => o.date < boundary));
  const validationStart = addDays(mondayOf(boundary), -7 * validationWeeks);
  const trainRows = rowsWhere(m, (d) => d < validationStart);
  const validationRows = rowsWhere(m, (d) => d >= validationStart && d < boundary);
  const train = slice(m, trainRows);
  const validation = slice(m, validationRows);
  const clip = trained?.clip ?? fitClipping(train.data);
  const trainData = clipDataset(train.data, clip);
  const validationData = clipDataset(validation.data, clip);
  const started = performance.now();
  const model =
    trained?.model ??
    gbdtFamily.fit(
      trainData,
      train.target,
      'classification',
      { maxIterations: 200, learningRate: 0.12 },
      {
        seed: 42,
        validation: { data: validationData, target: validation.target },
      },
    );
  const trainSeconds = (performance.now() - started) / 1000;
  const validationPredictions = model.predictBatch(validationData);
  const reference = driftReferenceFor({
    train: {
      data: train.data,
      dates: Array.from(trainRows, (r) => m.dates[r]!),
      locations: Array.from(trainRows, (r) => m.locations[r]!),
    },
    trainingProbabilities: model.predictBatch(trainData),
    validation: {
      probabilities: validationPredictions,
      labels: validation.target,
      dates: Array.from(validationRows, (r) => m.dates[r]!),
    },
    importance: permutationImportance((d) => model.predictBatch(d), validationData, validation.target),
    threshold: 0.5,
  });
  let positives = 0;
  for (const y of train.target) positives += y;
  return {
    version: `gbdt-fixed-${boundary}`,
    model,
    clip,
    reference,
    trainRows: trainRows.length,
    validationRows: validationRows.length,
    trainStart: m.dates[trainRows[0]!] ?? boundary,
    trainEnd: addDays(boundary, -1),
    positives,
    trainSeconds,
  };
}

/**
 * The predictions and labeled examples the pipeline makes of `observations` (in date order) with a fixed
 * champion: the same feature step, the champion's clipping, and the label join's rule (the observation
 * of exactly D+1 labels D).
 */
export function servedStream(observations: readonly Observation[], champion: FixedChampion) {
  const m = buildTrainingMatrix(observations, { keepUnlabeled: true });
  const p = champion.model.predictBatch(clipDataset(m.dataset, champion.clip));
  const N = m.dataset.nRows;
  const F = FEATURE_NAMES.length;
  const predictions: Prediction[] = [];
  const labeled: LabeledExample[] = [];
  for (let r = 0; r < N; r++) {
    const values = new Array<number>(F);
    for (let c = 0; c < F; c++) values[c] = m.dataset.data[c * N + r]!;
    const prediction: Prediction = {
      location: m.locations[r]!,
      date: m.dates[r]!,
      probability: p[r]!,
      decision: p[r]! >= 0.5,
      threshold: 0.5,
      modelVersion: champion.version,
      featureSetVersion: FEATURE_SET_VERSION,
      values,
      rainToday: null,
      rainfall: null,
      ingestedAt: 0,
      predictedAt: 0,
      task: 'rain',
      value: null,
    };
    predictions.push(prediction);
  }
  // Labels: target of row r is known when D+1 was observed with a RainToday.
  for (let r = 0; r < N; r++) {
    const y = m.target[r]!;
    if (!(y === y)) continue;
    const pr = predictions[r]!;
    labeled.push({
      location: pr.location,
      date: pr.date,
      featureSetVersion: pr.featureSetVersion,
      values: pr.values,
      label: y === 1,
      rainfallNext: null,
      task: 'rain',
      target: null,
      value: null,
      probability: pr.probability,
      modelVersion: pr.modelVersion,
    });
  }
  return { predictions, labeled };
}

/** Weeks between a fault's first week and the week an incident opened, counting both: 1 = the first week. */
export function detectionWeeks(faultFrom: string, openedWeek: string): number {
  return (dayNumber(openedWeek) - dayNumber(mondayOf(faultFrom))) / 7 + 1;
}
