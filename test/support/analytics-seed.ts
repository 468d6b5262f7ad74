/**
 * A small, deterministic set of predictions and outcomes for the analytics tests (chDB and the real
 * server), with the expected scores computed here in TypeScript, independently of the SQL.
 */
import { rocAuc } from '../../lib/platform/clickhouse/queries/quality.ts';

export interface SeedPrediction {
  task: 'rain';
  location: string;
  date: string;
  probability: number;
  decision: number;
  threshold: number;
  model_version: string;
  feature_set_version: string;
  ingested_at: number;
  predicted_at: number;
  lag_ms: number;
  ver: number;
}

export interface SeedActual {
  task: 'rain';
  location: string;
  date: string;
  status: 'joined' | 'missing';
  rain_tomorrow: number | null;
  rainfall_tomorrow_mm: number | null;
  joined_at: number;
  ver: number;
}

export const SEED_LOCATIONS = ['Albury', `O'Connor`, 'Wagga Wagga'] as const;

function seasonOf(date: string): string {
  const month = Number(date.slice(5, 7));
  if (month === 12 || month <= 2) return 'summer';
  if (month <= 5) return 'autumn';
  if (month <= 8) return 'winter';
  return 'spring';
}

export function analyticsSeed(): { predictions: SeedPrediction[]; actuals: SeedActual[] } {
  let seed = 42;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  const predictions: SeedPrediction[] = [];
  const actuals: SeedActual[] = [];
  const start = Date.UTC(2016, 10, 1);
  for (let day = 0; day < 120; day++) {
    const date = new Date(start + day * 86_400_000).toISOString().slice(0, 10);
    for (const location of SEED_LOCATIONS) {
      const rain = random() < 0.25 ? 1 : 0;
      const probability = Math.round(Math.min(0.99, random() * 0.7 + rain * 0.25) * 100) / 100;
      const t = Math.floor((start + day * 86_400_000) / 1000);
      const prediction: SeedPrediction = {
        task: 'rain',
        location,
        date,
        probability,
        decision: probability >= 0.5 ? 1 : 0,
        threshold: 0.5,
        model_version: day < 60 ? 'm-001' : 'm-002',
        feature_set_version: 'fs-1',
        ingested_at: t,
        predicted_at: t + 1,
        lag_ms: 12,
        ver: 1,
      };
      predictions.push(prediction);
      // Every tenth day's outcome is missing; the rest joined.
      const missing = day % 10 === 9;
      actuals.push({
        task: 'rain',
        location,
        date,
        status: missing ? 'missing' : 'joined',
        rain_tomorrow: missing ? null : rain,
        rainfall_tomorrow_mm: missing ? null : rain * 4.2,
        joined_at: t + 86_400,
        ver: 1,
      });
    }
  }
  return { predictions, actuals };
}

/**
 * A re-write of one prediction with a higher ver (as a replay would do): reads with FINAL must see
 * only this one. Its probability is changed so that a missing FINAL would show in the scores.
 */
export function rewrittenPrediction(p: SeedPrediction): SeedPrediction {
  return { ...p, probability: 1 - p.probability, decision: p.decision ? 0 : 1, ver: p.ver + 1 };
}

export interface ExpectedScore {
  bucket: string;
  n: number;
  positives: number;
  brier: number;
  accuracy: number;
  auc: number;
}

export function expectedScores(
  predictions: readonly SeedPrediction[],
  actuals: readonly SeedActual[],
  grouping: 'overall' | 'location' | 'year' | 'season' | 'week' | 'model',
): ExpectedScore[] {
  const latest = new Map<string, SeedPrediction>();
  for (const p of predictions) {
    const key = `${p.location}|${p.date}`;
    const seen = latest.get(key);
    if (!seen || p.ver >= seen.ver) latest.set(key, p);
  }
  const outcome = new Map(actuals.map((a) => [`${a.location}|${a.date}`, a]));
  const groups = new Map<string, Array<{ p: SeedPrediction; y: number }>>();
  for (const [key, p] of latest) {
    const a = outcome.get(key);
    if (!a || a.status !== 'joined' || a.rain_tomorrow === null) continue;
    const bucket =
      grouping === 'overall'
        ? 'all'
        : grouping === 'location'
          ? p.location
          : grouping === 'year'
            ? p.date.slice(0, 4)
            : grouping === 'season'
              ? seasonOf(p.date)
              : grouping === 'model'
                ? p.model_version
                : monday(p.date);
    const list = groups.get(bucket) ?? [];
    list.push({ p, y: a.rain_tomorrow });
    groups.set(bucket, list);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([bucket, list]) => {
      const points = new Map<number, { probability: number; pos: number; neg: number }>();
      for (const { p, y } of list) {
        const point = points.get(p.probability) ?? { probability: p.probability, pos: 0, neg: 0 };
        if (y) point.pos++;
        else point.neg++;
        points.set(p.probability, point);
      }
      return {
        bucket,
        n: list.length,
        positives: list.reduce((s, e) => s + e.y, 0),
        brier: list.reduce((s, e) => s + (e.p.probability - e.y) ** 2, 0) / list.length,
        accuracy: list.reduce((s, e) => s + (e.p.decision === e.y ? 1 : 0), 0) / list.length,
        auc: rocAuc([...points.values()].sort((a, b) => a.probability - b.probability)),
      };
    });
}

function monday(date: string): string {
  const t = Date.parse(`${date}T00:00:00Z`);
  const weekday = (new Date(t).getUTCDay() + 6) % 7;
  return new Date(t - weekday * 86_400_000).toISOString().slice(0, 10);
}

/** Strings that break naive quoting, for the escaping tests. */
export const HOSTILE_STRINGS: readonly string[] = [
  `O'Brien`,
  `it''s`,
  `\\`,
  `\\'`,
  `back\\slash\\'quote`,
  `'; DROP TABLE predictions; --`,
  `nul\0byte`,
  `\0`,
  `line1\nline2\r\n\ttabbed`,
  `bell\u0007 esc\u001b del\u007f`,
  `unicode: Wagga Wagga ☔ 雨 🌧️ שלום مرحبا`,
  `emoji 👨‍👩‍👧 and combining é`,
  '`backtick` "double"',
  `{x:String} ? $1 %s`,
  '',
  ' ',
];
