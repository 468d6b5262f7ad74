/**
 * Incidents, not rows. A breach of (station, feature, kind) opens an incident; further breaches extend it
 * without a word; it resolves after `resolveAfterWeeks` judged weeks in a row that are clearly quiet (a
 * finding may say it is below its threshold but not clearly so: then the incident holds; a week that
 * cannot be judged, say the field is missing, neither extends nor resolves it). One event per
 * opening and one per resolution. After a resolution the same key is in cooldown: for `cooldownWeeks`
 * a new incident needs two breaching weeks in a row, so a condition that flickers around its threshold
 * makes one incident, not one a fortnight. Incident ids are deterministic (kind, station, feature, week
 * opened): an event delivered twice is recognisably the same event.
 */
import { addDays, daysBetween } from '../../lib/domain/time.ts';
import type { Finding, FindingKind } from './close.ts';

export interface Incident {
  id: string;
  station: string;
  feature: string;
  kind: FindingKind;
  status: 'open' | 'resolved';
  openedWeek: string;
  lastBreachWeek: string;
  resolvedWeek: string | null;
  /** Judged weeks without a breach since the last breach (while open). */
  clearWeeks: number;
  weeksBreached: number;
  modelVersion: string;
  statistic: string;
  /** The statistic at the latest breach, its largest magnitude, and the threshold it was judged against. */
  value: number;
  peak: number;
  threshold: number;
  importance: number;
  rank: number;
  /** A breach seen during cooldown, waiting for a second one the week after. */
  pendingBreachWeek: string | null;
}

export interface IncidentSettings {
  resolveAfterWeeks: number;
  cooldownWeeks: number;
}

export const DEFAULT_INCIDENT_SETTINGS: IncidentSettings = { resolveAfterWeeks: 2, cooldownWeeks: 8 };

export interface IncidentEvent {
  event: 'opened' | 'resolved';
  week: string;
  incident: Incident;
}

export function incidentKey(f: { kind: string; station: string; feature: string }): string {
  return `${f.kind}|${f.station}|${f.feature}`;
}

/**
 * Rain's ids are as they were before tasks (kind:station:feature:week); another task's are prefixed with
 * the task, so the same finding of two tasks' champions is two incidents, two alerts and two commands.
 */
export function incidentId(
  kind: string,
  station: string,
  feature: string,
  openedWeek: string,
  task: string = 'rain',
): string {
  const id = `${kind}:${station}:${feature}:${openedWeek}`;
  return task === 'rain' ? id : `${task}:${id}`;
}

export interface IncidentUpdate {
  incidents: Incident[];
  /** Incidents whose record changed this week (for the incidents table). */
  changed: Incident[];
  events: IncidentEvent[];
}

/**
 * Applies one week's findings (of one side, weeks in order) to the incidents. Keeps open incidents and
 * resolved ones still in cooldown; older resolved ones are dropped from the state (ClickHouse keeps them).
 */
export function applyFindings(
  incidents: readonly Incident[],
  week: string,
  findings: readonly Finding[],
  settings: IncidentSettings = DEFAULT_INCIDENT_SETTINGS,
  task: string = 'rain',
): IncidentUpdate {
  const byKey = new Map<string, Incident>();
  // The latest incident of each key wins (an open one is always the latest).
  for (const i of incidents) {
    const key = incidentKey(i);
    const held = byKey.get(key);
    if (held === undefined || i.openedWeek > held.openedWeek) byKey.set(key, i);
  }
  const kept = new Map(incidents.map((i) => [i.id, i]));
  const changed: Incident[] = [];
  const events: IncidentEvent[] = [];
  const update = (next: Incident) => {
    kept.set(next.id, next);
    byKey.set(incidentKey(next), next);
    changed.push(next);
  };
  for (const f of findings) {
    const key = incidentKey(f);
    const current = byKey.get(key);
    const magnitude = Math.abs(f.value);
    if (f.breach) {
      if (current?.status === 'open') {
        update({
          ...current,
          lastBreachWeek: week,
          clearWeeks: 0,
          weeksBreached: current.weeksBreached + 1,
          modelVersion: f.modelVersion,
          statistic: f.statistic,
          value: f.value,
          peak: Math.abs(current.peak) >= magnitude ? current.peak : f.value,
          threshold: f.threshold,
        });
        continue;
      }
      const inCooldown =
        current !== undefined &&
        current.resolvedWeek !== null &&
        daysBetween(current.resolvedWeek, week) < settings.cooldownWeeks * 7;
      if (inCooldown && current.pendingBreachWeek !== addDays(week, -7)) {
        update({ ...current, pendingBreachWeek: week });
        continue;
      }
      const opened: Incident = {
        id: incidentId(f.kind, f.station, f.feature, week, task),
        station: f.station,
        feature: f.feature,
        kind: f.kind,
        status: 'open',
        openedWeek: week,
        lastBreachWeek: week,
        resolvedWeek: null,
        clearWeeks: 0,
        weeksBreached: 1,
        modelVersion: f.modelVersion,
        statistic: f.statistic,
        value: f.value,
        peak: f.value,
        threshold: f.threshold,
        importance: f.importance,
        rank: f.rank,
        pendingBreachWeek: null,
      };
      update(opened);
      events.push({ event: 'opened', week, incident: opened });
      continue;
    }
    if (current === undefined) continue;
    if (current.status === 'open' && f.clear === false) {
      // Quiet but not clearly so: the incident holds, and its clear run starts over.
      if (current.clearWeeks > 0) update({ ...current, clearWeeks: 0 });
      continue;
    }
    if (current.status === 'open') {
      const clearWeeks = current.clearWeeks + 1;
      if (clearWeeks >= settings.resolveAfterWeeks) {
        const resolved: Incident = { ...current, status: 'resolved', resolvedWeek: week, clearWeeks };
        update(resolved);
        events.push({ event: 'resolved', week, incident: resolved });
      } else {
        update({ ...current, clearWeeks });
      }
    } else if (current.pendingBreachWeek !== null) {
      kept.set(current.id, { ...current, pendingBreachWeek: null });
      byKey.set(key, kept.get(current.id)!);
    }
  }
  const incidentsOut = [...kept.values()]
    .filter(
      (i) =>
        i.status === 'open' ||
        (i.resolvedWeek !== null && daysBetween(i.resolvedWeek, week) < settings.cooldownWeeks * 7),
    )
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { incidents: incidentsOut, changed, events };
}
