/** Prequential scores (each prediction scored once its outcome joined), from ClickHouse. */
import { prequentialScores } from '../../lib/platform/clickhouse/queries/quality.ts';
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { ApiError } from '../errors.ts';
import type { PrequentialBody, PrequentialQuery } from '../schemas.ts';

export interface MetricsService {
  prequential(query: PrequentialQuery): Promise<PrequentialBody>;
}

export function createMetricsService(clickhouse: SqlRunner): MetricsService {
  return {
    async prequential(query) {
      const grouping = query.grouping ?? 'overall';
      if (query.from !== undefined && query.to !== undefined && query.from > query.to) {
        throw new ApiError(400, 'VALIDATION', `must not be before from (${query.from})`, { field: 'to' });
      }
      const scores = await prequentialScores(clickhouse, grouping, {
        from: query.from,
        to: query.to,
        location: query.location,
        modelVersion: query.model,
      });
      return {
        grouping,
        from: query.from ?? null,
        to: query.to ?? null,
        // JSON has no NaN: a bucket with one class has no AUC.
        scores: scores.map((s) => ({ ...s, auc: Number.isNaN(s.auc) ? null : s.auc })),
      };
    },
  };
}
