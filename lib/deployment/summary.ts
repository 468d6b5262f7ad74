/** The figures a replay ends with, read back from ClickHouse: counts, models, the prequential score. */
import type { SqlRunner } from '../platform/clickhouse/client.ts';
import {
  firstPredictionDateNotBy,
  modelCounts,
  tableCounts,
} from '../platform/clickhouse/queries/pipeline.ts';
import { prequentialScores, type Score } from '../platform/clickhouse/queries/quality.ts';
import { PRIOR_VERSION } from '../models/champion.ts';

export interface PipelineSummary {
  counts: Record<string, number>;
  modelsTrained: number;
  modelsPromoted: number;
  firstTrainedChampionFrom: string | null;
  prequential: Score | null;
}

/** Counts, models, and the prequential score over the predictions made after the first trained champion. */
export async function pipelineSummary(runner: SqlRunner): Promise<PipelineSummary> {
  const [counts, models, firstTrainedChampionFrom] = await Promise.all([
    tableCounts(runner),
    modelCounts(runner),
    firstPredictionDateNotBy(runner, PRIOR_VERSION),
  ]);
  const [prequential] =
    firstTrainedChampionFrom === null
      ? [null]
      : await prequentialScores(runner, 'overall', { from: firstTrainedChampionFrom });
  return {
    counts,
    modelsTrained: models.trained,
    modelsPromoted: models.promoted,
    firstTrainedChampionFrom,
    prequential: prequential ?? null,
  };
}
