/**
 * The drift stage's pure steps. Two halves, joined by the partials topic:
 *
 * 1. `partitionStep` (partition.ts): each partition of the predictions topic and of the labeled topic is
 *    folded into weekly partial sums per (station, model version) and emits one partial per week it
 *    closes, on its own event time.
 * 2. The closer (here): one instance reads every partial (the partials topic has one partition). A week of
 *    a side closes once every partition of that side has closed it, which is a watermark over all
 *    partitions that lives in the log, not in a process: a restart, a rebalance or a slow partition cannot
 *    make a week close early. Closing computes the week's statistics (close.ts), judges them, and moves
 *    the incidents (incidents.ts); an incident opening on an important feature may ask for a retraining.
 *
 * Both halves are pure (state and records in, state and outputs out), so a test can drive event time by
 * hand (topology.ts composes them in memory, as Kafka Streams' TopologyTestDriver does).
 */
import type { Command, DriftAlert } from '../../lib/domain/events.ts';
import {
  closeLabelWeek,
  closePredictionWeek,
  closeRegressionLabelWeek,
  DEFAULT_STATION_SETTINGS,
  POOLED,
  type StationSettings,
  type CalibrationRow,
  type CarriedWeek,
  type DriftRow,
  type PerformanceRow,
  type PerformanceSettings,
  type PerformanceWindowEntry,
  type StationWeekRow,
} from './close.ts';
import { applyFindings, type Incident, type IncidentEvent, type IncidentSettings } from './incidents.ts';
import {
  DriftStateError,
  type DriftPartial,
  type DriftSource,
  RAIN_DRIFT_TASK,
  type DriftTask,
  type ReferenceLookup,
} from './partition.ts';
import { addDays, daysBetween } from '../../lib/domain/time.ts';

export * from './partition.ts';
export type {
  Finding,
  FindingKind,
  DriftRow,
  StationWeekRow,
  PerformanceRow,
  CalibrationRow,
} from './close.ts';
export type { Incident, IncidentEvent } from './incidents.ts';

export interface RetrainSettings {
  /** Ask the trainer for a full refit when an incident opens on an important feature. */
  enabled: boolean;
  /** Features of this importance rank or better count as important (1 = the most important). */
  maxRank: number;
  /** Station-level incidents (one sensor) ask too; off by default: refitting on a broken sensor learns it. */
  stationLevel: boolean;
  /** At most one request per this many weeks. */
  cooldownWeeks: number;
}

export interface DriftSettings {
  /** Days after a week's Sunday before a partition closes it. */
  graceDays: number;
  stations: StationSettings;
  incidents: IncidentSettings;
  performance: PerformanceSettings;
  retrain: RetrainSettings;
}

export const DEFAULT_DRIFT_SETTINGS: DriftSettings = {
  graceDays: 2,
  stations: DEFAULT_STATION_SETTINGS,
  incidents: { resolveAfterWeeks: 2, cooldownWeeks: 8 },
  performance: { windowWeeks: 4, k: 4, minGap: 0.02, minRows: 200, minRmseExcess: 0.25 },
  retrain: { enabled: false, maxRank: 5, stationLevel: false, cooldownWeeks: 4 },
};

export const SOURCES: readonly DriftSource[] = ['predictions', 'labeled'];

export interface CloserState {
  v: 2;
  /** Per side, the latest week each partition has closed (partition number as key). */
  reported: Record<DriftSource, Record<string, string>>;
  /** Per side, the latest week closed here; partials of weeks up to it are late. */
  closedThrough: Record<DriftSource, string | null>;
  /** Per side, weeks with partials stored and not yet closed. */
  pending: Record<DriftSource, string[]>;
  /** What the last closed prediction week leaves for the next one's two-week windows. */
  previous: ({ week: string } & CarriedWeek) | null;
  /** The last label weeks' totals, for the realized-versus-estimated gap. */
  performance: PerformanceWindowEntry[];
  incidents: Incident[];
  lastRetrainWeek: string | null;
}

export function initialCloserState(): CloserState {
  return {
    v: 2,
    reported: { predictions: {}, labeled: {} },
    closedThrough: { predictions: null, labeled: null },
    pending: { predictions: [], labeled: [] },
    previous: null,
    performance: [],
    incidents: [],
    lastRetrainWeek: null,
  };
}

/** Records a partial's arrival. A partial of a week its side already closed is late (a re-emission). */
export function receivePartial(
  state: CloserState,
  partial: DriftPartial,
): { state: CloserState; accepted: boolean } {
  const side = partial.source;
  const closed = state.closedThrough[side];
  const key = String(partial.partition);
  const reported = state.reported[side][key];
  const next: CloserState = {
    ...state,
    reported: {
      ...state.reported,
      [side]: {
        ...state.reported[side],
        [key]: reported === undefined || partial.week > reported ? partial.week : reported,
      },
    },
  };
  if (closed !== null && partial.week <= closed) return { state: next, accepted: false };
  if (!state.pending[side].includes(partial.week)) {
    next.pending = { ...state.pending, [side]: [...state.pending[side], partial.week].sort() };
  }
  return { state: next, accepted: true };
}

/**
 * Weeks of a side that every expected partition has closed, oldest first. A partition that has never
 * reported holds everything back: its first record may be of any week.
 */
export function closableWeeks(
  state: CloserState,
  side: DriftSource,
  partitions: readonly number[],
): string[] {
  let bound: string | null = null;
  for (const p of partitions) {
    const reported = state.reported[side][String(p)];
    if (reported === undefined) return [];
    if (bound === null || reported < bound) bound = reported;
  }
  if (bound === null) return [];
  return state.pending[side].filter((w) => w <= bound);
}

/** Partitions that have never reported on a side (what the closer is waiting for). */
export function silentPartitions(
  state: CloserState,
  side: DriftSource,
  partitions: readonly number[],
): number[] {
  return partitions.filter((p) => state.reported[side][String(p)] === undefined);
}

export interface WeekOutput {
  task: string;
  side: DriftSource;
  week: string;
  drift: DriftRow[];
  stations: StationWeekRow[];
  performance: PerformanceRow[];
  calibration: CalibrationRow[];
  /** Incidents whose record changed (the incidents table). */
  incidents: Incident[];
  /** Events for the alerts topic: one per opening and per resolution. */
  alerts: DriftAlert[];
  /** Full-refit requests; the shell stamps them with the time it sends them. */
  retrain: Omit<Command, 'at'>[];
  /** Records the partitions dropped, reported with this week's partials. */
  late: number;
  duplicates: number;
}

/**
 * Closes one week of one side from all of its partials. Weeks of a side must be closed in order (those
 * `closableWeeks` returns, oldest first).
 */
export function closeWeek(
  state: CloserState,
  side: DriftSource,
  week: string,
  partials: readonly DriftPartial[],
  referenceOf: ReferenceLookup,
  settings: DriftSettings = DEFAULT_DRIFT_SETTINGS,
  task: DriftTask = RAIN_DRIFT_TASK,
): { state: CloserState; output: WeekOutput } {
  const closed = state.closedThrough[side];
  if (closed !== null && week <= closed) {
    throw new DriftStateError(`week ${week} of ${side} closed twice (closed through ${closed})`);
  }
  const output: WeekOutput = {
    task: task.name,
    side,
    week,
    drift: [],
    stations: [],
    performance: [],
    calibration: [],
    incidents: [],
    alerts: [],
    retrain: [],
    late: partials.reduce((s, p) => s + p.late, 0),
    duplicates: partials.reduce((s, p) => s + p.duplicates, 0),
  };
  let next: CloserState = {
    ...state,
    closedThrough: { ...state.closedThrough, [side]: week },
    pending: { ...state.pending, [side]: state.pending[side].filter((w) => w !== week) },
  };
  // Sums are added in partition order: the same partials give the same floating-point results, however
  // they were stored and fetched.
  partials = [...partials].sort((a, b) => a.partition - b.partition);
  let findings;
  if (side === 'predictions') {
    const previous =
      state.previous !== null && state.previous.week === addDays(week, -7) ? state.previous : null;
    const closedWeek = closePredictionWeek(
      week,
      partials,
      referenceOf,
      previous,
      settings.stations,
      task.type,
    );
    output.drift = closedWeek.drift;
    output.stations = closedWeek.stations;
    output.performance = closedWeek.performance;
    findings = closedWeek.findings;
    next.previous = { week, ...closedWeek.carried };
  } else {
    const closeLabels = task.type === 'regression' ? closeRegressionLabelWeek : closeLabelWeek;
    const closedWeek = closeLabels(week, partials, referenceOf, state.performance, settings.performance);
    output.drift = closedWeek.drift;
    output.performance = closedWeek.performance;
    output.calibration = closedWeek.calibration;
    findings = closedWeek.findings;
    next.performance = closedWeek.window;
  }
  const update = applyFindings(next.incidents, week, findings, settings.incidents, task.name);
  next = { ...next, incidents: update.incidents };
  output.incidents = update.changed;
  output.alerts = update.events.map((e) => alertOf(e, task.name));
  for (const e of update.events) {
    if (e.event !== 'opened' || !asksForRetraining(e.incident, settings.retrain)) continue;
    const last = next.lastRetrainWeek;
    if (last !== null && daysBetween(last, week) < settings.retrain.cooldownWeeks * 7) continue;
    output.retrain.push(retrainRequestOf(e.incident, week, task.name));
    next.lastRetrainWeek = week;
  }
  return { state: next, output };
}

function asksForRetraining(incident: Incident, r: RetrainSettings): boolean {
  if (!r.enabled) return false;
  if (incident.kind === 'performance' || incident.kind === 'prediction') return true;
  if (incident.station !== POOLED && !r.stationLevel) return false;
  return incident.rank >= 1 && incident.rank <= r.maxRank;
}

export function alertOf(e: IncidentEvent, task: string = RAIN_DRIFT_TASK.name): DriftAlert {
  const i = e.incident;
  return {
    task,
    week: e.week,
    modelVersion: i.modelVersion,
    kind: i.kind,
    name: i.feature,
    statistic: i.statistic,
    value: i.value,
    threshold: i.threshold,
    event: e.event,
    station: i.station,
    incidentId: i.id,
    openedWeek: i.openedWeek,
    importance: i.importance,
    rank: i.rank,
    weeksBreached: i.weeksBreached,
  };
}

/**
 * The trainer's command for a full refit of the incident's task because of an incident. Its id is the incident's (deterministic),
 * so a command sent again after a crash is run once.
 */
export function retrainRequestOf(
  incident: Incident,
  week: string,
  task: string = RAIN_DRIFT_TASK.name,
): Omit<Command, 'at'> {
  const where = incident.station === POOLED ? 'all stations' : incident.station;
  return {
    id: `drift:${incident.id}`,
    kind: 'retrain',
    task,
    reason: `drift: ${incident.kind} of ${incident.feature} at ${where} since ${incident.openedWeek} (${incident.statistic} ${incident.value.toFixed(3)} beyond ${incident.threshold.toFixed(3)}; incident ${incident.id})`,
    requestedBy: 'drift',
    week,
    modelVersion: incident.modelVersion,
    incidentId: incident.id,
    station: incident.station,
    feature: incident.feature,
    driftKind: incident.kind,
  };
}

export function serializeCloserState(state: CloserState): string {
  // JSON has no Infinity or NaN: incident values are finite by construction (breaches of finite statistics).
  return JSON.stringify(state);
}

export function parseCloserState(text: string): CloserState {
  const raw = JSON.parse(text) as Partial<CloserState> | null;
  if (
    raw === null ||
    raw.v !== 2 ||
    typeof raw.reported !== 'object' ||
    typeof raw.closedThrough !== 'object' ||
    typeof raw.pending !== 'object' ||
    !Array.isArray(raw.incidents) ||
    !Array.isArray(raw.performance)
  ) {
    throw new DriftStateError('stored drift closer state is not a v2 CloserState');
  }
  return raw as CloserState;
}
