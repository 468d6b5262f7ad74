/**
 * Closing a week: the partials of every partition of one source, combined, turned into the week's
 * statistics and into findings (breach, clear) for the incident lifecycle.
 *
 * Prediction side (before any label):
 * - per station, for each watched sensor field of the week's primary model (the one that served most of
 *   the week): the share of missing values against the most the station missed in its recent reference
 *   weeks ("missing": the field stopped reporting); the week's anomaly against the station-month mean,
 *   minus its neighbours' ("shift"), over one week and over the last two, each against the z the
 *   reference's own weeks exceed only rarely; the week's spread against the station-month spread
 *   ("stuck": a sensor repeating one value);
 * - pooled over stations, for each watched model feature: the mean of the values standardized per
 *   station-month (so neither the station mix nor the season moves it), and the missing share beyond what
 *   each station's own rate predicts; the PSI of the predicted probabilities against the season-mixed
 *   reference; and the confidence-based estimate (CBPE) of accuracy and Brier from the calibrated
 *   probabilities.
 * Label side: realized accuracy and Brier beside the estimate, reliability bins and their expected
 * calibration error, and over a rolling window the gap between realized and estimated accuracy (a model
 * less right than it believes: the relation between features and rain has moved, which no feature
 * statistic can see).
 */
import { addDays, month } from '../../lib/domain/time.ts';
import {
  combinedValue,
  neighbourResidual,
  psi,
  seasonMix,
  PROBABILITY_BINS,
  SEASONS,
  type ColumnReference,
  type DriftReference,
} from '../../lib/ml/reference.ts';
import {
  C,
  groupIndex,
  L,
  P,
  R,
  type DriftTaskType,
  type DriftPartial,
  type ReferenceLookup,
  type StationPartial,
} from './partition.ts';

export type FindingKind = 'missing' | 'shift' | 'stuck' | 'prediction' | 'performance';
export const POOLED = '*';

/** One (station, feature, kind) judged for one week. */
export interface Finding {
  station: string;
  feature: string;
  kind: FindingKind;
  breach: boolean;
  /**
   * Well inside the quiet band: only such weeks count towards resolving an incident (hysteresis), so a
   * persistent fault whose statistic hovers around its threshold stays one incident. Absent: not breach.
   */
  clear?: boolean;
  statistic: string;
  value: number;
  threshold: number;
  modelVersion: string;
  importance: number;
  rank: number;
}

/** A pooled statistic of a week (ClickHouse `drift`). */
export interface DriftRow {
  week: string;
  modelVersion: string;
  station: string;
  kind: FindingKind | 'calibration';
  name: string;
  statistic: string;
  value: number;
  threshold: number;
  alert: boolean;
  n: number;
}

/** Every statistic of one station's watched field for a week (ClickHouse `drift_stations`). */
export interface StationWeekRow {
  week: string;
  modelVersion: string;
  station: string;
  feature: string;
  rank: number;
  importance: number;
  rows: number;
  valued: number;
  missingShare: number;
  missingThreshold: number | null;
  anomaly: number | null;
  residualZ: number | null;
  shiftThreshold: number | null;
  residualZ2: number | null;
  shiftThreshold2: number | null;
  spreadLogRatio: number | null;
  stuckThreshold: number | null;
  missingBreach: boolean;
  shiftBreach: boolean;
  stuckBreach: boolean;
}

/**
 * Accuracy and Brier of a week (classification), per model version and station ('*' pooled), estimated
 * or realized; RMSE and MAE of a regression task's week, realized only (it has no estimate: close.ts).
 */
export interface PerformanceRow {
  week: string;
  modelVersion: string;
  station: string;
  basis: 'estimated' | 'realized';
  n: number;
  /** Classification only (null for a regression task). */
  accuracy: number | null;
  brier: number | null;
  /** Regression only (null for a classification task). */
  rmse: number | null;
  mae: number | null;
  /** The model's validation RMSE (regression). */
  referenceRmse: number | null;
  /** Realized rows: the confidence-based estimate on exactly these labeled rows. */
  expectedAccuracy: number | null;
  referenceAccuracy: number | null;
  referenceBrier: number | null;
  ece: number | null;
}

export interface CalibrationRow {
  week: string;
  modelVersion: string;
  bin: number;
  n: number;
  meanP: number;
  meanY: number;
}

/** Stuck spreads are written as this instead of -Infinity (a week of one repeated value). */
export const ZERO_SPREAD_LOG = -99;

function combine(partials: readonly DriftPartial[]): Map<string, Map<string, StationPartial>> {
  const out = new Map<string, Map<string, StationPartial>>();
  for (const partial of partials) {
    for (const s of partial.stations) {
      let byVersion = out.get(s.location);
      if (byVersion === undefined) out.set(s.location, (byVersion = new Map()));
      const existing = byVersion.get(s.modelVersion);
      if (existing === undefined) {
        byVersion.set(s.modelVersion, { ...s, values: [...s.values] });
      } else if (existing.values.length === s.values.length) {
        // A station read by two partitions (the partition count changed): its sums add.
        existing.rows += s.rows;
        for (let i = 0; i < s.values.length; i++) existing.values[i]! += s.values[i]!;
      }
    }
  }
  return out;
}

/** The month of a week's Thursday: the month most of its days fall in. */
export function seasonOfWeek(week: string): number {
  return month(addDays(week, 3)) - 1;
}

/** What the next week's two-week windows need of this one, per `station|feature`. */
export interface CarriedWeek {
  residuals: Record<string, number>;
  /** Missing values and rows. */
  missing: Record<string, [number, number]>;
}

export interface PredictionClose {
  drift: DriftRow[];
  stations: StationWeekRow[];
  performance: PerformanceRow[];
  findings: Finding[];
  carried: CarriedWeek;
  primaryVersion: string | null;
}

export interface StationSettings {
  /** Multipliers of the reference's shift thresholds for the one-week and the two-week window. */
  oneWeekFactor: number;
  twoWeekFactor: number;
  /**
   * When at least this share of a station's judged fields (and three or more: one instrument is two or
   * three fields) stopped reporting in the same week, the station stopped reporting: one finding
   * (station, '*', missing), not one per field.
   */
  outageShare: number;
  /** A shift counts towards resolving its incident only below this share of its thresholds. */
  clearFactor: number;
}

export const DEFAULT_STATION_SETTINGS: StationSettings = {
  clearFactor: 0.6,
  oneWeekFactor: 1.5,
  twoWeekFactor: 1.25,
  outageShare: 0.6,
};

export function closePredictionWeek(
  week: string,
  partials: readonly DriftPartial[],
  referenceOf: ReferenceLookup,
  previous: CarriedWeek | null,
  settings: StationSettings = DEFAULT_STATION_SETTINGS,
  taskType: DriftTaskType = 'classification',
): PredictionClose {
  const stations = combine(partials);
  const out: PredictionClose = {
    drift: [],
    stations: [],
    performance: [],
    findings: [],
    carried: { residuals: {}, missing: {} },
    primaryVersion: null,
  };
  // Per model version: the pooled histogram, months, CBPE sums and rows.
  const versions = new Map<
    string,
    { rows: number; values: number[]; stations: [string, StationPartial][] }
  >();
  for (const [location, byVersion] of stations) {
    for (const [version, s] of byVersion) {
      let v = versions.get(version);
      if (v === undefined)
        versions.set(version, (v = { rows: 0, values: new Array(P.COLUMNS).fill(0), stations: [] }));
      v.rows += s.rows;
      for (let i = 0; i < P.COLUMNS; i++) v.values[i]! += s.values[i]!;
      v.stations.push([location, s]);
    }
  }
  const ordered = [...versions.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  let primary: { version: string; rows: number; reference: DriftReference } | null = null;
  for (const [version, v] of ordered) {
    const reference = referenceOf(version);
    // A regression task has no estimate before labels: its forecasts carry no class probability that a
    // calibration could turn into an expected error, so its performance rows are the realized ones only.
    if (taskType === 'classification') pushEstimated(week, version, v, reference, out);
    if (reference === undefined) continue;
    if (primary === null || v.rows > primary.rows) primary = { version, rows: v.rows, reference };
    pooledStatistics(week, version, v, reference, out);
  }
  if (primary !== null) {
    out.primaryVersion = primary.version;
    stationStatistics(
      week,
      primary.version,
      primary.reference,
      stations,
      referenceOf,
      previous,
      settings,
      out,
    );
  }
  return out;
}

function pushEstimated(
  week: string,
  version: string,
  v: { rows: number; values: number[]; stations: [string, StationPartial][] },
  reference: DriftReference | undefined,
  out: PredictionClose,
): void {
  const refAcc = reference?.performance?.accuracy ?? null;
  const refBrier = reference?.performance?.brier ?? null;
  const estimated = (station: string, rows: number, values: readonly number[]) =>
    out.performance.push({
      week,
      modelVersion: version,
      station,
      basis: 'estimated',
      n: rows,
      accuracy: values[P.EXPECTED_CORRECT]! / rows,
      brier: values[P.EXPECTED_BRIER]! / rows,
      expectedAccuracy: null,
      referenceAccuracy: refAcc,
      referenceBrier: refBrier,
      ece: null,
      rmse: null,
      mae: null,
      referenceRmse: null,
    });
  estimated(POOLED, v.rows, v.values);
  for (const [location, s] of v.stations.sort(([a], [b]) => (a < b ? -1 : 1)))
    estimated(location, s.rows, s.values);
}

function pooledStatistics(
  week: string,
  version: string,
  v: { rows: number; values: number[]; stations: [string, StationPartial][] },
  reference: DriftReference,
  out: PredictionClose,
): void {
  const pushFinding = (
    kind: FindingKind,
    name: string,
    statistic: string,
    value: number,
    threshold: number | null,
    breach: boolean | null,
    n: number,
    column?: ColumnReference,
  ) => {
    const judged =
      breach !== null && threshold !== null && n >= reference.options.minPooledRows && Number.isFinite(value);
    out.drift.push({
      week,
      modelVersion: version,
      station: POOLED,
      kind,
      name,
      statistic,
      value,
      threshold: threshold ?? NaN,
      alert: judged && breach,
      n,
    });
    if (!judged) return;
    out.findings.push({
      station: POOLED,
      feature: name,
      kind,
      breach,
      statistic,
      value,
      threshold,
      modelVersion: version,
      importance: column?.importance ?? 1,
      rank: column?.rank ?? 0,
    });
  };
  // The predicted probabilities against the reference mixed by this week's months (a classifier's).
  if (reference.prediction !== null) {
    const hist = v.values.slice(P.HIST, P.HIST + PROBABILITY_BINS);
    const months = v.values.slice(P.MONTHS, P.MONTHS + SEASONS);
    const expected = seasonMix(reference.prediction.expected, reference.prediction.bySeason, months);
    const psiValue = psi(expected, hist);
    const psiThreshold = reference.prediction.psiThreshold;
    pushFinding(
      'prediction',
      'probability',
      'psi',
      psiValue,
      psiThreshold,
      psiThreshold !== null && psiValue > psiThreshold,
      v.rows,
    );
  }

  reference.columns.forEach((column, c) => {
    if (!column.pooled) return;
    const base = P.COLUMNS + c * C.SIZE;
    let zSum = 0;
    let zCount = 0;
    let rows = 0;
    let missing = 0;
    let expectedMissing = 0;
    for (const [location, s] of v.stations) {
      if (s.values.length <= base) continue;
      zSum += s.values[base + C.SUM_Z]!;
      zCount += s.values[base + C.Z_COUNT]!;
      const g = groupIndex(reference, location);
      const rate = g >= 0 ? column.groups[g]?.missing : undefined;
      if (rate === undefined) continue;
      const stationRows = s.values[base + C.MISSING]! + s.values[base + C.VALUED]!;
      rows += stationRows;
      missing += s.values[base + C.MISSING]!;
      expectedMissing += stationRows * rate;
    }
    const meanZ = zCount > 0 ? zSum / zCount - column.pooledShift.centre : NaN;
    const t = column.pooledShift.threshold;
    pushFinding('shift', column.name, 'mean_z', meanZ, t, t !== null && Math.abs(meanZ) > t, zCount, column);
    const excess = rows > 0 ? (missing - expectedMissing) / rows : NaN;
    const mt = column.pooledMissingThreshold;
    pushFinding('missing', column.name, 'missing_excess', excess, mt, excess > mt, rows, column);
  });
}

function stationStatistics(
  week: string,
  version: string,
  reference: DriftReference,
  stations: Map<string, Map<string, StationPartial>>,
  referenceOf: ReferenceLookup,
  previous: CarriedWeek | null,
  shift: StationSettings,
  out: PredictionClose,
): void {
  const o = reference.options;
  const findings: Finding[] = [];
  /** One-week z of each `station|field`, for the instruments. */
  const standardized = new Map<string, number>();
  const rowsOf = new Map<string, StationWeekRow>();
  const season = seasonOfWeek(week);
  const G = reference.groups.length;
  for (const column of reference.columns) {
    if (!column.perGroup) continue;
    // Each station's sums over every model version that watched this field (a mid-week champion switch).
    const sums = new Float64Array(G * C.SIZE);
    const rows = new Float64Array(G);
    const mins = new Float64Array(G).fill(Infinity);
    const maxs = new Float64Array(G).fill(-Infinity);
    for (let g = 0; g < G; g++) {
      const byVersion = stations.get(reference.groups[g]!);
      if (byVersion === undefined) continue;
      for (const [v, s] of byVersion) {
        const ref = v === version ? reference : referenceOf(v);
        const c = ref?.columns.findIndex((x) => x.name === column.name) ?? -1;
        if (c < 0) continue;
        const base = P.COLUMNS + c * C.SIZE;
        if (s.values.length < base + C.SIZE) continue;
        for (let k = 0; k < C.SIZE; k++) sums[g * C.SIZE + k]! += s.values[base + k]!;
        rows[g]! += s.values[base + C.MISSING]! + s.values[base + C.VALUED]!;
        if (s.values[base + C.VALUED]! > 0) {
          mins[g] = Math.min(mins[g]!, s.values[base + C.MIN]!);
          maxs[g] = Math.max(maxs[g]!, s.values[base + C.MAX]!);
        }
      }
    }
    const anomalies = new Float64Array(G).fill(NaN);
    for (let g = 0; g < G; g++) {
      const present = sums[g * C.SIZE + C.PRESENT]!;
      if (present >= o.minChunkRows) anomalies[g] = sums[g * C.SIZE + C.SUM_D]! / present;
    }
    for (let g = 0; g < G; g++) {
      const ref = column.groups[g];
      if (ref === null || ref === undefined || rows[g] === 0) continue;
      const station = reference.groups[g]!;
      const at = g * C.SIZE;
      const valued = sums[at + C.VALUED]!;
      const present = sums[at + C.PRESENT]!;
      const key = `${station}|${column.name}`;
      const missing = sums[at + C.MISSING]!;
      const missingShare = missing / rows[g]!;
      out.carried.missing[key] = [missing, rows[g]!];
      // A field stopped reporting when it was missing over this week and the one before: a week's gap in
      // a station's record is common, a sensor that stays silent is the finding.
      const before = previous?.missing[key];
      const missingShare2 = before === undefined ? NaN : (missing + before[0]) / (rows[g]! + before[1]);
      const r1 =
        ref.residualSd === null
          ? NaN
          : neighbourResidual(anomalies[g]!, ref.neighbours, (j) => anomalies[j]!);
      if (r1 === r1) out.carried.residuals[key] = r1;
      const r1Before = previous?.residuals[key];
      const r2 = r1 === r1 && r1Before !== undefined ? (r1 + r1Before) / 2 : NaN;
      const z1 = ref.residualSd ? r1 / ref.residualSd : NaN;
      const z2 = ref.residualSd2 ? r2 / ref.residualSd2 : NaN;
      // Spread against the station-month spread (informative); stuck = every value the same, where the
      // station's reference weeks never were.
      let spreadLog = NaN;
      const cellSd = column.sd[g * SEASONS + season];
      const repeated = valued >= o.minChunkRows + 1 && mins[g] === maxs[g];
      if (repeated) spreadLog = -Infinity;
      else if (present >= o.minChunkRows + 1 && cellSd !== null && cellSd !== undefined && cellSd > 0) {
        const sumD = sums[at + C.SUM_D]!;
        const variance = Math.max(0, (sums[at + C.SUM_D2]! - (sumD * sumD) / present) / (present - 1));
        spreadLog = variance === 0 ? -Infinity : Math.log(Math.sqrt(variance) / cellSd);
      }
      const missingJudged =
        rows[g]! >= o.minChunkRows && ref.missingThreshold !== null && missingShare2 === missingShare2;
      const missingBreach = missingJudged && missingShare2 > ref.missingThreshold!;
      // One week alone must stand out more than two weeks together: a single week's residual is mostly a
      // local weather event, a sensor fault persists.
      const judged = judgeShift(z1, z2, column.shiftThreshold, column.shiftThreshold2, shift);
      const { t1, t2 } = judged;
      const shiftBreach = judged.breach;
      if (Number.isFinite(z1)) standardized.set(key, z1);
      const stuckJudged =
        ref.repeats === 0 && column.repeatRate < o.maxRepeatRate && valued >= o.minChunkRows + 1;
      const stuckBreach = stuckJudged && repeated;
      const row: StationWeekRow = {
        week,
        modelVersion: version,
        station,
        feature: column.name,
        rank: column.rank,
        importance: column.importance,
        rows: rows[g]!,
        valued,
        missingShare,
        missingThreshold: ref.missingThreshold,
        anomaly: Number.isFinite(anomalies[g]!) ? anomalies[g]! : null,
        residualZ: Number.isFinite(z1) ? z1 : null,
        shiftThreshold: t1,
        residualZ2: Number.isFinite(z2) ? z2 : null,
        shiftThreshold2: t2,
        spreadLogRatio: Number.isNaN(spreadLog)
          ? null
          : Number.isFinite(spreadLog)
            ? spreadLog
            : ZERO_SPREAD_LOG,
        stuckThreshold: stuckJudged ? ZERO_SPREAD_LOG : null,
        missingBreach,
        shiftBreach,
        stuckBreach,
      };
      // A reading judged only with its instrument is written with it (the instrument's row), not alone.
      if (!column.memberOnly) out.stations.push(row);
      rowsOf.set(key, row);
      const finding = (
        kind: FindingKind,
        breach: boolean,
        clear: boolean,
        statistic: string,
        value: number,
        threshold: number,
      ) =>
        findings.push({
          station,
          feature: column.name,
          kind,
          breach,
          clear,
          statistic,
          value,
          threshold,
          modelVersion: version,
          importance: column.importance,
          rank: column.rank,
        });
      if (missingJudged) {
        // Cleared once the field reports on most days again.
        const clear = missingShare2 <= 1 - ref.missingThreshold!;
        finding('missing', missingBreach, clear, 'missing_share_2w', missingShare2, ref.missingThreshold!);
      }
      // A field that is missing has no shift or spread to judge: those incidents hold until it reports.
      if (judged.judged) {
        finding('shift', judged.breach, judged.clear, judged.statistic, judged.value, judged.threshold);
      }
      if (stuckJudged) finding('stuck', stuckBreach, !repeated, 'distinct_values', repeated ? 1 : 2, 1);
    }
  }
  // Each instrument's readings judged together; when the instrument breaches, it is the finding, not each
  // of its readings.
  const instrumentBreach = new Set<string>();
  for (const combined of reference.combined) {
    const members = reference.columns.filter((c) => combined.columns.includes(c.name));
    for (let g = 0; g < G; g++) {
      const ref = combined.groups[g];
      if (ref === null || ref === undefined) continue;
      const station = reference.groups[g]!;
      const memberRows = members
        .map((m) => rowsOf.get(`${station}|${m.name}`))
        .filter((r) => r !== undefined);
      if (memberRows.length === 0) continue;
      const key = `${station}|#${combined.name}`;
      const c1 = combinedValue(members.map((m) => standardized.get(`${station}|${m.name}`) ?? NaN));
      if (c1 === c1) out.carried.residuals[key] = c1;
      const before = previous?.residuals[key];
      const c2 = c1 === c1 && before !== undefined ? (c1 + before) / 2 : NaN;
      const z1 = ref.residualSd ? c1 / ref.residualSd : NaN;
      const z2 = ref.residualSd2 ? c2 / ref.residualSd2 : NaN;
      const judged = judgeShift(z1, z2, combined.shiftThreshold, combined.shiftThreshold2, shift);
      const rank = Math.min(...members.map((m) => m.rank));
      out.stations.push({
        week,
        modelVersion: version,
        station,
        feature: combined.name,
        rank,
        importance: combined.importance,
        rows: Math.max(...memberRows.map((r) => r.rows)),
        valued: memberRows.reduce((sum, r) => sum + r.valued, 0),
        missingShare: memberRows.reduce((sum, r) => sum + r.missingShare, 0) / memberRows.length,
        missingThreshold: null,
        anomaly: null,
        residualZ: Number.isFinite(z1) ? z1 : null,
        shiftThreshold: judged.t1,
        residualZ2: Number.isFinite(z2) ? z2 : null,
        shiftThreshold2: judged.t2,
        spreadLogRatio: null,
        stuckThreshold: null,
        missingBreach: false,
        shiftBreach: judged.breach,
        stuckBreach: false,
      });
      if (!judged.judged) continue;
      if (judged.breach) for (const m of members) instrumentBreach.add(`${station}|${m.name}`);
      findings.push({
        station,
        feature: combined.name,
        kind: 'shift',
        breach: judged.breach,
        clear: judged.clear,
        statistic: judged.statistic,
        value: judged.value,
        threshold: judged.threshold,
        modelVersion: version,
        importance: combined.importance,
        rank,
      });
    }
  }

  // What went missing together is one finding: the station (most of its fields), else a report of the
  // day or an instrument (most of its readings), else the field.
  const missingByStation = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.kind !== 'missing') continue;
    const list = missingByStation.get(f.station) ?? [];
    list.push(f);
    missingByStation.set(f.station, list);
  }
  const consumed = new Set<Finding>();
  const grouped = (
    station: string,
    feature: string,
    members: Finding[],
    share: number,
    minBreached: number,
  ): boolean => {
    const breached = members.filter((f) => f.breach);
    const breach = breached.length >= minBreached && breached.length >= share * members.length;
    findings.push({
      station,
      feature,
      kind: 'missing',
      breach,
      clear: breached.length === 0,
      statistic: 'fields_missing_share',
      value: breached.length / members.length,
      threshold: share,
      modelVersion: version,
      importance: 1,
      rank: 0,
    });
    if (breach) for (const f of breached) consumed.add(f);
    return breach;
  };
  for (const [station, list] of missingByStation) {
    if (grouped(station, POOLED, list, shift.outageShare, 3)) continue;
    for (const group of reference.missingGroups) {
      const members = list.filter((f) => !consumed.has(f) && group.columns.includes(f.feature));
      if (members.length >= 2) grouped(station, group.name, members, 0.75, 2);
    }
  }
  // A field missing across the network this week is the pooled incident's business, not each station's.
  const networkMissing = new Set(
    out.findings
      .filter((f) => f.station === POOLED && f.kind === 'missing' && f.breach)
      .map((f) => f.feature),
  );
  const memberOnly = new Set(reference.columns.filter((c) => c.memberOnly).map((c) => c.name));
  for (const f of findings) {
    if (memberOnly.has(f.feature)) continue;
    if (f.kind === 'shift' && instrumentBreach.has(`${f.station}|${f.feature}`)) continue;
    if (consumed.has(f)) continue;
    if (f.kind === 'missing' && networkMissing.has(f.feature)) continue;
    out.findings.push(f);
  }
}

interface ShiftJudgement {
  judged: boolean;
  breach: boolean;
  clear: boolean;
  /** The reference's thresholds times the window factors (null: that window is not judged). */
  t1: number | null;
  t2: number | null;
  statistic: 'residual_z' | 'residual_z2';
  value: number;
  threshold: number;
}

/**
 * A shift over one week or over two: breach when either window's |z| passes its threshold; clearly quiet
 * when every judged window is under clearFactor of its threshold. The finding reports the window that
 * stands out most.
 */
function judgeShift(
  z1: number,
  z2: number,
  base1: number | null,
  base2: number | null,
  s: StationSettings,
): ShiftJudgement {
  const t1 = base1 === null ? null : base1 * s.oneWeekFactor;
  const t2 = base2 === null ? null : base2 * s.twoWeekFactor;
  const one = t1 !== null && Number.isFinite(z1);
  const two = t2 !== null && Number.isFinite(z2);
  const breach = (one && Math.abs(z1) > t1!) || (two && Math.abs(z2) > t2!);
  const clear = (!one || Math.abs(z1) < s.clearFactor * t1!) && (!two || Math.abs(z2) < s.clearFactor * t2!);
  const useTwo = two && (!one || Math.abs(z2) / t2! > Math.abs(z1) / t1!);
  return {
    judged: one || two,
    breach,
    clear,
    t1,
    t2,
    statistic: useTwo ? 'residual_z2' : 'residual_z',
    value: useTwo ? z2 : z1,
    threshold: useTwo ? t2! : (t1 ?? NaN),
  };
}

export interface PerformanceWindowEntry {
  week: string;
  n: number;
  /** Classification: right decisions, and the estimate of them. */
  correct: number;
  expected: number;
  /** Regression: the sum of squared errors (absent for a classification task). */
  sse?: number;
}

export interface LabelClose {
  drift: DriftRow[];
  performance: PerformanceRow[];
  calibration: CalibrationRow[];
  findings: Finding[];
  window: PerformanceWindowEntry[];
}

export interface PerformanceSettings {
  /** Weeks the realized-versus-estimated gap is averaged over. */
  windowWeeks: number;
  /** The gap breaches beyond this many reference standard deviations of the window mean. */
  k: number;
  /** Never tighter than this (the validation window is only a few weeks long). */
  minGap: number;
  /** Fewest labeled rows in the window to judge it. */
  minRows: number;
  /**
   * Regression: the window's RMSE breaches beyond this share above the reference's (and beyond k spreads
   * of a week's RMSE): the reference's validation weeks are a few recent ones, a window in another season
   * errs by more without anything having drifted.
   */
  minRmseExcess: number;
}

/**
 * A labeled week's sums per model version over its stations, and each station's own partial. A partial
 * of another layout (another task's, or a malformed one) is left out rather than summed out of place.
 */
function sumsByVersion(
  stations: ReadonlyMap<string, ReadonlyMap<string, StationPartial>>,
  size: number,
): Map<string, { values: number[]; stations: [string, StationPartial][] }> {
  const versions = new Map<string, { values: number[]; stations: [string, StationPartial][] }>();
  for (const [location, byVersion] of stations) {
    for (const [version, s] of byVersion) {
      if (s.values.length !== size) continue;
      let v = versions.get(version);
      if (v === undefined) versions.set(version, (v = { values: new Array(size).fill(0), stations: [] }));
      for (let i = 0; i < size; i++) v.values[i]! += s.values[i]!;
      v.stations.push([location, s]);
    }
  }
  return versions;
}

export function closeLabelWeek(
  week: string,
  partials: readonly DriftPartial[],
  referenceOf: ReferenceLookup,
  window: readonly PerformanceWindowEntry[],
  settings: PerformanceSettings,
): LabelClose {
  const stations = combine(partials);
  const out: LabelClose = { drift: [], performance: [], calibration: [], findings: [], window: [] };
  const versions = sumsByVersion(stations, L.SIZE);
  const entry: PerformanceWindowEntry = { week, n: 0, correct: 0, expected: 0 };
  let primary: { rows: number; reference: DriftReference | undefined; version: string } | null = null;
  for (const [version, v] of [...versions.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const reference = referenceOf(version);
    const n = v.values[L.N]!;
    if (n === 0) continue;
    entry.n += n;
    entry.correct += v.values[L.CORRECT]!;
    entry.expected += v.values[L.EXPECTED_CORRECT]!;
    if (primary === null || n > primary.rows) primary = { rows: n, reference, version };
    let ece = 0;
    for (let b = 0; b < PROBABILITY_BINS; b++) {
      const at = L.CALIBRATION + 3 * b;
      const bn = v.values[at]!;
      out.calibration.push({
        week,
        modelVersion: version,
        bin: b,
        n: bn,
        meanP: bn > 0 ? v.values[at + 1]! / bn : 0,
        meanY: bn > 0 ? v.values[at + 2]! / bn : 0,
      });
      if (bn > 0) ece += Math.abs(v.values[at + 2]! - v.values[at + 1]!) / n;
    }
    const row = (station: string, values: number[], withEce: boolean): PerformanceRow => ({
      week,
      modelVersion: version,
      station,
      basis: 'realized',
      n: values[L.N]!,
      accuracy: values[L.CORRECT]! / values[L.N]!,
      brier: values[L.BRIER]! / values[L.N]!,
      expectedAccuracy: values[L.EXPECTED_CORRECT]! / values[L.N]!,
      referenceAccuracy: reference?.performance?.accuracy ?? null,
      referenceBrier: reference?.performance?.brier ?? null,
      ece: withEce ? ece : null,
      rmse: null,
      mae: null,
      referenceRmse: null,
    });
    out.performance.push(row(POOLED, v.values, true));
    for (const [location, s] of v.stations.sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (s.values[L.N]! > 0) out.performance.push(row(location, s.values, false));
    }
    out.drift.push({
      week,
      modelVersion: version,
      station: POOLED,
      kind: 'calibration',
      name: 'probability',
      statistic: 'ece',
      value: ece,
      threshold: NaN,
      alert: false,
      n,
    });
  }
  out.window = [...window, entry].filter((e) => e.n > 0).slice(-settings.windowWeeks);
  if (primary !== null) {
    const n = out.window.reduce((s, e) => s + e.n, 0);
    const gap = (out.window.reduce((s, e) => s + e.correct - e.expected, 0) / Math.max(1, n)) as number;
    const sd = primary.reference?.performance?.gapSd ?? null;
    const threshold = Math.max(
      settings.minGap,
      sd === null ? 0 : (settings.k * sd) / Math.sqrt(out.window.length),
    );
    const judged = n >= settings.minRows && primary.reference?.performance != null;
    // Only a model less accurate than it believes is a finding; more accurate than expected harms nobody.
    const breach = judged && gap < -threshold;
    out.drift.push({
      week,
      modelVersion: primary.version,
      station: POOLED,
      kind: 'performance',
      name: 'accuracy',
      statistic: `accuracy_gap_${out.window.length}w`,
      value: gap,
      threshold: -threshold,
      alert: breach,
      n,
    });
    if (judged) {
      out.findings.push({
        station: POOLED,
        feature: 'accuracy',
        kind: 'performance',
        breach,
        statistic: 'accuracy_gap',
        value: gap,
        threshold: -threshold,
        modelVersion: primary.version,
        importance: 1,
        rank: 0,
      });
    }
  }
  return out;
}

/**
 * A regression task's labeled week: realized RMSE, MAE and bias per model version and station, and over
 * the rolling window the RMSE against the reference's validation RMSE (a model erring more than it did
 * when it was chosen). There is no estimate beside them (see closePredictionWeek).
 */
export function closeRegressionLabelWeek(
  week: string,
  partials: readonly DriftPartial[],
  referenceOf: ReferenceLookup,
  window: readonly PerformanceWindowEntry[],
  settings: PerformanceSettings,
): LabelClose {
  const stations = combine(partials);
  const out: LabelClose = { drift: [], performance: [], calibration: [], findings: [], window: [] };
  const versions = sumsByVersion(stations, R.SIZE);
  const entry: PerformanceWindowEntry = { week, n: 0, correct: 0, expected: 0, sse: 0 };
  let primary: { rows: number; reference: DriftReference | undefined; version: string } | null = null;
  for (const [version, v] of [...versions.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const reference = referenceOf(version);
    const n = v.values[R.N]!;
    if (n === 0) continue;
    entry.n += n;
    entry.sse! += v.values[R.SUM_E2]!;
    if (primary === null || n > primary.rows) primary = { rows: n, reference, version };
    const row = (station: string, values: number[]): PerformanceRow => ({
      week,
      modelVersion: version,
      station,
      basis: 'realized',
      n: values[R.N]!,
      accuracy: null,
      brier: null,
      expectedAccuracy: null,
      referenceAccuracy: null,
      referenceBrier: null,
      ece: null,
      rmse: Math.sqrt(values[R.SUM_E2]! / values[R.N]!),
      mae: values[R.SUM_AE]! / values[R.N]!,
      referenceRmse: reference?.errors?.rmse ?? null,
    });
    out.performance.push(row(POOLED, v.values));
    for (const [location, s] of v.stations.sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (s.values[R.N]! > 0) out.performance.push(row(location, s.values));
    }
    out.drift.push({
      week,
      modelVersion: version,
      station: POOLED,
      kind: 'calibration',
      name: 'value',
      statistic: 'bias',
      value: v.values[R.SUM_E]! / n,
      threshold: NaN,
      alert: false,
      n,
    });
  }
  out.window = [...window, entry].filter((e) => e.n > 0).slice(-settings.windowWeeks);
  if (primary !== null) {
    const n = out.window.reduce((s, e) => s + e.n, 0);
    const rmse = Math.sqrt(out.window.reduce((s, e) => s + (e.sse ?? 0), 0) / Math.max(1, n));
    const errors = primary.reference?.errors;
    const ratio = errors !== undefined && errors.rmse > 0 ? rmse / errors.rmse : NaN;
    const sd = errors?.rmseRatioSd ?? null;
    const threshold =
      1 +
      Math.max(settings.minRmseExcess, sd === null ? 0 : (settings.k * sd) / Math.sqrt(out.window.length));
    const judged = n >= settings.minRows && Number.isFinite(ratio);
    const breach = judged && ratio > threshold;
    out.drift.push({
      week,
      modelVersion: primary.version,
      station: POOLED,
      kind: 'performance',
      name: 'rmse',
      statistic: `rmse_ratio_${out.window.length}w`,
      value: ratio,
      threshold,
      alert: breach,
      n,
    });
    if (judged) {
      out.findings.push({
        station: POOLED,
        feature: 'rmse',
        kind: 'performance',
        breach,
        statistic: 'rmse_ratio',
        value: ratio,
        threshold,
        modelVersion: primary.version,
        importance: 1,
        rank: 0,
      });
    }
  }
  return out;
}
