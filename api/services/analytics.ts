/**
 * What the dashboard charts read from ClickHouse: a station's forecast history with outcomes, the
 * quality report, drift, and the prequential scores. Ranges are checked here (a `to` before `from` is the
 * caller's mistake, named as such); the queries live in lib/platform/clickhouse/queries.
 */
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { driftIncidents, driftWeeks } from '../../lib/platform/clickhouse/queries/drift-view.ts';
import { weeklyPerformance } from '../../lib/platform/clickhouse/queries/drift.ts';
import {
  latestPredictionDate,
  predictionHistory,
  recentPredictionHistory,
} from '../../lib/platform/clickhouse/queries/prediction-history.ts';
import { prequentialScores } from '../../lib/platform/clickhouse/queries/quality.ts';
import { qualityReport } from '../../lib/platform/clickhouse/queries/quality-report.ts';
import { regressionQuality } from '../../lib/platform/clickhouse/queries/regression-quality.ts';
import { TASKS } from '../../lib/models/tasks.ts';
import { addDays } from '../../lib/domain/time.ts';
import { ApiError } from '../errors.ts';
import type { ResultCache } from './result-cache.ts';
import type {
  DriftBody,
  DriftQuery,
  PredictionsBody,
  PredictionsQuery,
  PrequentialBody,
  PrequentialQuery,
  QualityBody,
  QualityQuery,
  RegressionQualityBody,
} from '../schemas.ts';

/** Days `GET /predictions` returns when no range is given, and at most. */
export const DEFAULT_HISTORY_DAYS = 90;
export const MAX_HISTORY_DAYS = 3700;

export interface AnalyticsService {
  predictions(query: PredictionsQuery): Promise<PredictionsBody>;
  /** Rain's report (classification) or a regression task's (R², RMSE, MAE), by `query.task`. */
  quality(query: QualityQuery): Promise<QualityBody | RegressionQualityBody>;
  drift(query: DriftQuery): Promise<DriftBody>;
  prequential(query: PrequentialQuery): Promise<PrequentialBody>;
}

function orderedRange(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && from > to) {
    throw new ApiError(400, 'VALIDATION', `must not be before from (${from})`, { field: 'to' });
  }
}

/** JSON has no NaN: a ratio with nothing below it, or an AUC of one class, is null. */
function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function daysBetween(from: string, to: string): number {
  return (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;
}

function checkSpan(from: string, to: string): void {
  if (daysBetween(from, to) >= MAX_HISTORY_DAYS) {
    throw new ApiError(400, 'VALIDATION', `must be less than ${MAX_HISTORY_DAYS} days after from`, {
      field: 'to',
    });
  }
}

/** Computes every time: for callers without a cache. */
export const NO_CACHE: Pick<ResultCache, 'get'> = { get: (_key, compute) => compute() };

export function createAnalyticsService(
  clickhouse: SqlRunner,
  decisionThreshold: number,
  cache: Pick<ResultCache, 'get'> = NO_CACHE,
): AnalyticsService {
  // Keys are the parsed queries: their fields come in the schema's order, so equal queries are equal text.
  const cached = <T>(route: string, query: object, compute: () => Promise<T>) =>
    cache.get(`${route} ${JSON.stringify(query)}`, compute);
  const qualityBody = async (query: QualityQuery, threshold: number): Promise<QualityBody> => {
    const rows = await qualityReport(
      clickhouse,
      query.groupBy,
      { from: query.from, to: query.to, location: query.location, modelVersion: query.model },
      threshold,
    );
    return {
      groupBy: query.groupBy,
      from: query.from ?? null,
      to: query.to ?? null,
      threshold,
      rows: rows.map((r) => ({
        ...r,
        accuracy: finite(r.accuracy),
        precision: finite(r.precision),
        recall: finite(r.recall),
        f1: finite(r.f1),
        rocAuc: finite(r.rocAuc),
        prAuc: finite(r.prAuc),
      })),
    };
  };
  return {
    async predictions(query) {
      orderedRange(query.from, query.to);
      if (query.from !== undefined && query.to !== undefined) checkSpan(query.from, query.to);
      return cached('predictions', query, async () => {
        if (query.to === undefined && query.from === undefined) {
          // The dashboard's question: the last days up to the newest forecast, in one query.
          const points = await recentPredictionHistory(clickhouse, query.location, DEFAULT_HISTORY_DAYS);
          const to = points.at(-1)?.date;
          if (to === undefined) return { location: query.location, from: '', to: '', points: [] };
          return { location: query.location, from: addDays(to, -(DEFAULT_HISTORY_DAYS - 1)), to, points };
        }
        const to = query.to ?? (await latestPredictionDate(clickhouse, query.location));
        if (to === null) return { location: query.location, from: '', to: '', points: [] };
        const from = query.from ?? addDays(to, -(DEFAULT_HISTORY_DAYS - 1));
        checkSpan(from, to);
        const points = await predictionHistory(clickhouse, query.location, from, to);
        return { location: query.location, from, to, points };
      });
    },

    async quality(query) {
      orderedRange(query.from, query.to);
      const task = TASKS[query.task];
      if (task.type === 'regression') {
        if (query.threshold !== undefined) {
          throw new ApiError(400, 'VALIDATION', `applies to task rain only, not ${task.name}`, {
            field: 'threshold',
          });
        }
        return cached('quality', query, async () => {
          const rows = await regressionQuality(clickhouse, task.name, query.groupBy, {
            from: query.from,
            to: query.to,
            location: query.location,
            modelVersion: query.model,
          });
          return {
            task: task.name,
            groupBy: query.groupBy,
            from: query.from ?? null,
            to: query.to ?? null,
            unit: task.target.unit,
            rows: rows.map((r) => ({ ...r, r2: finite(r.r2) })),
          };
        });
      }
      const threshold = query.threshold ?? decisionThreshold;
      return cached('quality', { ...query, threshold }, () => qualityBody(query, threshold));
    },

    async drift(query) {
      orderedRange(query.from, query.to);
      const range = { task: query.task, from: query.from, to: query.to };
      return cached('drift', query, async () => {
        const [incidents, weeks, performance] = await Promise.all([
          driftIncidents(clickhouse, range),
          driftWeeks(clickhouse, range),
          weeklyPerformance(clickhouse, range),
        ]);
        return {
          task: query.task,
          from: query.from ?? null,
          to: query.to ?? null,
          incidents,
          weeks,
          performance,
        };
      });
    },

    async prequential(query) {
      orderedRange(query.from, query.to);
      const scores = await prequentialScores(clickhouse, query.grouping, {
        from: query.from,
        to: query.to,
        location: query.location,
        modelVersion: query.model,
      });
      return {
        grouping: query.grouping,
        from: query.from ?? null,
        to: query.to ?? null,
        scores: scores.map((s) => ({ ...s, auc: finite(s.auc) })),
      };
    },
  };
}
