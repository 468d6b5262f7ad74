/**
 * The climatology baseline: the probability of rain tomorrow is how often it rained after days of the same
 * station and month in the training rows. It is the champion before any model is trained (so every day
 * gets a forecast) and the floor the first trained model must beat.
 *
 * Smoothing is hierarchical with Beta priors, each level shrunk toward the one above by a pseudo-count:
 *   global         = (positives + globalStrength * priorRate) / (n + globalStrength)
 *   station        = (positives_s + stationStrength * global) / (n_s + stationStrength)
 *   month (pooled) = (positives_m + stationStrength * global) / (n_m + stationStrength)
 *   station,month  = (positives_sm + cellStrength * station) / (n_sm + cellStrength)
 * A row with an unknown station (NaN or a code never trained on) gets the pooled month rate; an unknown
 * month gets the station rate; both unknown, the global rate.
 */
import { ARTIFACT_FORMAT, ModelParamsError, bodyRecord, checkArtifact, checkTarget } from './artifact.ts';
import {
  ModelFormatError,
  type Dataset,
  type FitOptions,
  type Model,
  type ModelArtifact,
  type ModelFamily,
  type Task,
  type WarmFitOptions,
} from './model.ts';

const FAMILY = 'climatology';
const FORMAT_VERSION = 1;

/** Features the baseline reads, found by name so it works with any feature list that has them. */
export const CLIMATOLOGY_FEATURES = { location: 'locationCode', month: 'month' } as const;

/**
 * Share of weatherAUS days followed by rain: 31,877 RainTomorrow = Yes of 142,193 known (22.4 %,
 * `data/README.md`). It is the prior of every rate, and alone the forecast of the bootstrap
 * champion, which exists before any observation has been seen.
 */
export const WEATHER_AUS_RAIN_RATE = 0.224;

export type ClimatologyParams = {
  priorRate: number;
  /** Pseudo-rows of the prior in the global rate. */
  globalStrength: number;
  /** Pseudo-rows of the global rate in a station's (and a pooled month's) rate. */
  stationStrength: number;
  /** Pseudo-rows of the station's rate in a station-month cell (about a month of one station). */
  cellStrength: number;
};

const MONTHS = 12;
/** Columns per station in the count grids: 12 months, then "month unknown". */
const COLS = MONTHS + 1;

interface Counts {
  /** Number of station codes; row `stations` of each grid holds rows of unknown station. */
  readonly stations: number;
  /** (stations + 1) x 13 grids, row-major. */
  readonly n: Float64Array;
  readonly positives: Float64Array;
}

function checkParams(p: ClimatologyParams): void {
  if (!(p.priorRate > 0 && p.priorRate < 1))
    throw new ModelParamsError(`priorRate must be in (0, 1), got ${p.priorRate}`);
  for (const key of ['globalStrength', 'stationStrength', 'cellStrength'] as const) {
    if (!(Number.isFinite(p[key]) && p[key] > 0))
      throw new ModelParamsError(`${key} must be positive, got ${p[key]}`);
  }
}

function columnsOf(featureNames: readonly string[]): { location: number; month: number } {
  const location = featureNames.indexOf(CLIMATOLOGY_FEATURES.location);
  const month = featureNames.indexOf(CLIMATOLOGY_FEATURES.month);
  if (location < 0 || month < 0) {
    throw new ModelParamsError(
      `climatology needs features ${CLIMATOLOGY_FEATURES.location} and ${CLIMATOLOGY_FEATURES.month}`,
    );
  }
  return { location, month };
}

function stationIndex(code: number, stations: number): number {
  return Number.isInteger(code) && code >= 0 && code < stations ? code : stations;
}

function monthIndex(month: number): number {
  return Number.isInteger(month) && month >= 1 && month <= MONTHS ? month - 1 : MONTHS;
}

/** The smoothed rate of every (station | unknown) x (month | unknown) cell, same layout as the counts. */
function rateTable(counts: Counts, p: ClimatologyParams): Float64Array {
  const { stations, n, positives } = counts;
  let nAll = 0;
  let posAll = 0;
  const nMonth = new Float64Array(COLS);
  const posMonth = new Float64Array(COLS);
  for (let s = 0; s <= stations; s++) {
    for (let m = 0; m < COLS; m++) {
      nAll += n[s * COLS + m]!;
      posAll += positives[s * COLS + m]!;
      nMonth[m]! += n[s * COLS + m]!;
      posMonth[m]! += positives[s * COLS + m]!;
    }
  }
  const global = (posAll + p.globalStrength * p.priorRate) / (nAll + p.globalStrength);
  const table = new Float64Array((stations + 1) * COLS);
  for (let s = 0; s < stations; s++) {
    let nS = 0;
    let posS = 0;
    for (let m = 0; m < COLS; m++) {
      nS += n[s * COLS + m]!;
      posS += positives[s * COLS + m]!;
    }
    const station = (posS + p.stationStrength * global) / (nS + p.stationStrength);
    for (let m = 0; m < MONTHS; m++) {
      const at = s * COLS + m;
      table[at] = (positives[at]! + p.cellStrength * station) / (n[at]! + p.cellStrength);
    }
    table[s * COLS + MONTHS] = station;
  }
  for (let m = 0; m < MONTHS; m++) {
    table[stations * COLS + m] =
      (posMonth[m]! + p.stationStrength * global) / (nMonth[m]! + p.stationStrength);
  }
  table[stations * COLS + MONTHS] = global;
  return table;
}

class ClimatologyModel implements Model {
  readonly family = FAMILY;
  readonly task: Task = 'classification';
  readonly featureNames: readonly string[];
  private readonly params: ClimatologyParams;
  private readonly counts: Counts;
  private readonly table: Float64Array;
  private readonly locationAt: number;
  private readonly monthAt: number;

  constructor(featureNames: readonly string[], params: ClimatologyParams, counts: Counts) {
    this.featureNames = featureNames;
    this.params = params;
    this.counts = counts;
    this.table = rateTable(counts, params);
    const cols = columnsOf(featureNames);
    this.locationAt = cols.location;
    this.monthAt = cols.month;
  }

  /** This model with `more` counts added (the station grid grows to the larger of the two). */
  plus(more: Counts): ClimatologyModel {
    const stations = Math.max(this.counts.stations, more.stations);
    const n = new Float64Array((stations + 1) * COLS);
    const positives = new Float64Array((stations + 1) * COLS);
    for (const c of [this.counts, more]) {
      for (let s = 0; s <= c.stations; s++) {
        // Row c.stations of a grid is "unknown station"; it maps to row `stations` of the merged grid.
        const to = (s === c.stations ? stations : s) * COLS;
        for (let m = 0; m < COLS; m++) {
          n[to + m]! += c.n[s * COLS + m]!;
          positives[to + m]! += c.positives[s * COLS + m]!;
        }
      }
    }
    return new ClimatologyModel(this.featureNames, this.params, { stations, n, positives });
  }

  predictRow(row: ArrayLike<number>): number {
    const s = stationIndex(row[this.locationAt]!, this.counts.stations);
    return this.table[s * COLS + monthIndex(row[this.monthAt]!)]!;
  }

  predictBatch(data: Dataset, out?: Float64Array): Float64Array {
    const { nRows } = data;
    const cols = columnsOf(data.featureNames);
    const result = out ?? new Float64Array(nRows);
    const loc = cols.location * nRows;
    const mon = cols.month * nRows;
    for (let r = 0; r < nRows; r++) {
      const s = stationIndex(data.data[loc + r]!, this.counts.stations);
      result[r] = this.table[s * COLS + monthIndex(data.data[mon + r]!)]!;
    }
    return result;
  }

  toJSON(): ModelArtifact {
    return {
      format: ARTIFACT_FORMAT,
      formatVersion: FORMAT_VERSION,
      family: FAMILY,
      task: this.task,
      featureNames: [...this.featureNames],
      params: { ...this.params },
      // Counts, not rates: the rates follow from counts and params, and counts stay mergeable.
      body: {
        stations: this.counts.stations,
        n: Array.from(this.counts.n),
        positives: Array.from(this.counts.positives),
      },
    };
  }
}

function countRows(data: Dataset, target: Float64Array): Counts {
  const { location, month } = columnsOf(data.featureNames);
  const { nRows } = data;
  let stations = 0;
  for (let r = 0; r < nRows; r++) {
    const code = data.data[location * nRows + r]!;
    if (Number.isInteger(code) && code >= 0) stations = Math.max(stations, code + 1);
  }
  const n = new Float64Array((stations + 1) * COLS);
  const positives = new Float64Array((stations + 1) * COLS);
  for (let r = 0; r < nRows; r++) {
    const at =
      stationIndex(data.data[location * nRows + r]!, stations) * COLS +
      monthIndex(data.data[month * nRows + r]!);
    n[at]! += 1;
    positives[at]! += target[r]!;
  }
  return { stations, n, positives };
}

export const climatologyFamily: ModelFamily<ClimatologyParams> = {
  family: FAMILY,
  defaults: { priorRate: WEATHER_AUS_RAIN_RATE, globalStrength: 100, stationStrength: 50, cellStrength: 30 },
  fit(
    data: Dataset,
    target: Float64Array,
    task: Task,
    params: Partial<ClimatologyParams>,
    _options: FitOptions,
  ): Model {
    if (task !== 'classification')
      throw new ModelParamsError('climatology forecasts rain (classification) only');
    const p = { ...this.defaults, ...params };
    checkParams(p);
    checkTarget(target, data.nRows, task);
    return new ClimatologyModel([...data.featureNames], p, countRows(data, target));
  },
  /** Counts add up: the warm start is the base's counts plus those of the new rows, exactly a refit. */
  fitWarm(base: Model, data: Dataset, target: Float64Array, options: WarmFitOptions): Model {
    if (!(base instanceof ClimatologyModel)) {
      throw new ModelParamsError(`climatology warm start needs a climatology base, got ${base.family}`);
    }
    if (options.warm && Object.keys(options.warm).length > 0) {
      throw new ModelParamsError(`climatology warm: unknown setting ${Object.keys(options.warm)[0]}`);
    }
    checkTarget(target, data.nRows, 'classification');
    return base.plus(countRows(data, target));
  },
  fromJSON(artifact: ModelArtifact): Model {
    const a = checkArtifact(artifact, FAMILY, FORMAT_VERSION);
    if (a.task !== 'classification') throw new ModelFormatError(`climatology artifact has task ${a.task}`);
    const body = bodyRecord(a);
    const stations = body.stations;
    if (typeof stations !== 'number' || !Number.isInteger(stations) || stations < 0) {
      throw new ModelFormatError('climatology body.stations is not a count');
    }
    const grid = (field: 'n' | 'positives'): Float64Array => {
      const v = body[field];
      if (
        !Array.isArray(v) ||
        v.length !== (stations + 1) * COLS ||
        !v.every((x) => typeof x === 'number' && Number.isFinite(x) && x >= 0)
      ) {
        throw new ModelFormatError(`climatology body.${field} is not ${(stations + 1) * COLS} counts`);
      }
      return Float64Array.from(v as number[]);
    };
    const p = { ...climatologyFamily.defaults, ...(a.params as Partial<ClimatologyParams>) };
    try {
      checkParams(p);
      return new ClimatologyModel([...a.featureNames], p, {
        stations,
        n: grid('n'),
        positives: grid('positives'),
      });
    } catch (err) {
      if (err instanceof ModelFormatError) throw err;
      throw new ModelFormatError(`climatology artifact is unusable: ${(err as Error).message}`);
    }
  },
};

/**
 * The bootstrap champion, before any data: every station and month gets the weatherAUS base rate. Its
 * artifact is an ordinary climatology artifact with zero counts.
 */
export function priorClimatologyModel(
  featureNames: readonly string[],
  priorRate = WEATHER_AUS_RAIN_RATE,
): Model {
  const p = { ...climatologyFamily.defaults, priorRate };
  checkParams(p);
  return new ClimatologyModel([...featureNames], p, {
    stations: 0,
    n: new Float64Array(COLS),
    positives: new Float64Array(COLS),
  });
}
