/**
 * A station's forecasts over a date range with their outcomes where joined: what the dashboard's 90-day
 * chart and `GET /predictions` show. The label of prediction D is rain on D+1 (actuals are keyed by D).
 * Rain's forecasts (task rain): the chart is of the probability of rain.
 */
import type { SqlRunner } from '../client.ts';
import { quoteDate, quoteString } from '../sql.ts';

export interface PredictionPoint {
  /** Day of the observation the forecast was made from. */
  date: string;
  probability: number;
  decision: boolean;
  threshold: number;
  modelVersion: string;
  /** 'joined' | 'missing' when the outcome is settled, null while pending. */
  outcome: 'joined' | 'missing' | null;
  /** Rain on date + 1 (> 1 mm), null until joined. */
  rainTomorrow: boolean | null;
  rainfallTomorrowMm: number | null;
}

/** The history of `location` on the days `range` (an SQL condition on `date`) admits. */
function historySql(location: string, range: string): string {
  return `SELECT toString(date) AS day, probability, decision, threshold, model_version, status,
  rain_tomorrow, rainfall_tomorrow_mm
FROM (
  SELECT location, date, probability, decision, threshold, model_version
  FROM predictions FINAL
  WHERE task = 'rain' AND location = ${quoteString(location)} AND ${range}
) AS p ALL LEFT JOIN (
  SELECT location, date, status, rain_tomorrow, rainfall_tomorrow_mm
  FROM actuals FINAL
  WHERE task = 'rain' AND location = ${quoteString(location)} AND ${range}
) AS a USING (location, date)
ORDER BY day`;
}

export function predictionHistorySql(location: string, from: string, to: string): string {
  return historySql(location, `date >= ${quoteDate(from)} AND date <= ${quoteDate(to)}`);
}

/**
 * The station's last `days` days up to its newest forecast, in one query (the newest date a scalar
 * subquery): what the dashboard opens on, without a round trip to learn that date first.
 */
export function recentPredictionHistorySql(location: string, days: number): string {
  if (!Number.isInteger(days) || days < 1)
    throw new RangeError(`days must be a positive integer, not ${days}`);
  const latest = `(SELECT max(date) FROM predictions WHERE task = 'rain' AND location = ${quoteString(location)})`;
  return historySql(location, `date >= ${latest} - ${days - 1}`);
}

export async function predictionHistory(
  runner: SqlRunner,
  location: string,
  from: string,
  to: string,
): Promise<PredictionPoint[]> {
  return pointsOf(
    await runner.rows<Record<string, string | number | null>>(predictionHistorySql(location, from, to)),
  );
}

/** The station's forecasts of the `days` days up to its newest one; none when it has no forecast. */
export async function recentPredictionHistory(
  runner: SqlRunner,
  location: string,
  days: number,
): Promise<PredictionPoint[]> {
  return pointsOf(
    await runner.rows<Record<string, string | number | null>>(recentPredictionHistorySql(location, days)),
  );
}

function pointsOf(rows: Record<string, string | number | null>[]): PredictionPoint[] {
  return rows.map((r) => {
    const status = r.status === 'joined' || r.status === 'missing' ? r.status : null;
    const rain = status === 'joined' && r.rain_tomorrow !== null ? Number(r.rain_tomorrow) === 1 : null;
    return {
      date: String(r.day),
      probability: Number(r.probability),
      decision: Number(r.decision) === 1,
      threshold: Number(r.threshold),
      modelVersion: String(r.model_version),
      outcome: status,
      rainTomorrow: rain,
      rainfallTomorrowMm:
        status === 'joined' && r.rainfall_tomorrow_mm !== null ? Number(r.rainfall_tomorrow_mm) : null,
    };
  });
}

/** The newest prediction date of a station, null when it has none. */
export async function latestPredictionDate(runner: SqlRunner, location: string): Promise<string | null> {
  const [row] = await runner.rows<{ d: string; n: string | number }>(
    `SELECT toString(max(date)) AS d, count() AS n FROM predictions WHERE task = 'rain' AND location = ${quoteString(location)}`,
  );
  return row && Number(row.n) > 0 ? row.d : null;
}
