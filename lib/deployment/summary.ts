/**
 * The figures a replay ends with, read back from ClickHouse: counts, models, the prequential score, and how
 * the weekly retraining kept up.
 */
import type { SqlRunner } from '../platform/clickhouse/client.ts';
import type { Topics } from '../platform/config.ts';
import { topicEnds } from '../platform/consumer-lag.ts';
import type { Kafka } from '../platform/kafka/client.ts';
import {
  firstPredictionDateNotBy,
  modelCounts,
  tableCounts,
} from '../platform/clickhouse/queries/pipeline.ts';
import { prequentialScores, type Score } from '../platform/clickhouse/queries/quality.ts';
import {
  predictedWeeks,
  trainingRuns,
  type TrainingRunFacts,
} from '../platform/clickhouse/queries/training.ts';
import { addDays, mondayOf } from '../domain/time.ts';
import { PRIOR_VERSION } from '../models/champion.ts';
import {
  regressionQuality,
  type RegressionQualityRow,
} from '../platform/clickhouse/queries/regression-quality.ts';

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

/** How the weekly retraining kept up with the replay (BENCH.md's weekly keys). */
export interface RetrainingFigures {
  /** Event-time weeks with predictions from the first trained champion's week, the last one left out (its run needs the week after it). */
  weeksReplayed: number;
  /** Of those, the weeks a weekly run closed as its own newest week (a model trained on it). */
  weeksTrained: number;
  /** The most weeks of data one weekly run stood for (weeks of a hole in the data count for nothing). */
  maxCoalescedWeeks: number;
  /** Largest champion staleness when a run started, over the runs whose span holds no week without data. */
  maxStalenessDays: number | null;
  /** Weekly runs recorded (skipped ones included), and runs asked for by a command. */
  weeklyRuns: number;
  commandRuns: number;
  /** Seconds of the weekly runs that trained: median and 90th percentile. */
  retrainP50: number | null;
  retrainP90: number | null;
}

function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

/**
 * The weekly figures from the recorded runs and the weeks that had predictions (pure). `from` is the first
 * prediction date of a trained champion; null before one existed (then nothing counts).
 */
export function retrainingFigures(
  runs: readonly TrainingRunFacts[],
  weeksWithData: readonly string[],
  from: string | null,
): RetrainingFigures {
  const weekly = runs.filter((r) => r.commandId === '');
  const seconds = weekly
    .filter((r) => r.trained)
    .map((r) => r.seconds)
    .sort((a, b) => a - b);
  const base = {
    weeklyRuns: weekly.length,
    commandRuns: runs.length - weekly.length,
    retrainP50: quantile(seconds, 0.5),
    retrainP90: quantile(seconds, 0.9),
  };
  if (from === null)
    return { ...base, weeksReplayed: 0, weeksTrained: 0, maxCoalescedWeeks: 0, maxStalenessDays: null };
  const fromWeek = mondayOf(from);
  const dataWeeks = new Set(weeksWithData);
  const counted = weeksWithData.filter((w) => w >= fromWeek).slice(0, -1);
  const inRange = weekly.filter((r) => mondayOf(r.dataUntil) >= fromWeek);
  const trainedWeeks = new Set(inRange.filter((r) => r.trained).map((r) => mondayOf(r.dataUntil)));
  let maxStaleness: number | null = null;
  for (const r of inRange) {
    if (r.stalenessDays < 0) continue;
    // The weeks between the champion's data end and this run's: a week without data is a hole.
    let hole = false;
    for (let w = mondayOf(addDays(r.dataUntil, -r.stalenessDays + 1)); w <= r.dataUntil; w = addDays(w, 7)) {
      if (!dataWeeks.has(w)) hole = true;
    }
    if (!hole) maxStaleness = Math.max(maxStaleness ?? 0, r.stalenessDays);
  }
  return {
    ...base,
    weeksReplayed: counted.length,
    weeksTrained: counted.filter((w) => trainedWeeks.has(w)).length,
    maxCoalescedWeeks: inRange.reduce((m, r) => Math.max(m, r.coalescedWeeks), 0),
    maxStalenessDays: maxStaleness,
  };
}

/** A regression task's figures after a replay: its weekly runs and its prequential R², RMSE and MAE. */
export interface RegressionTaskSummary {
  task: string;
  /** The first day forecast by a trained model of the task; null when none was promoted. */
  firstTrainedChampionFrom: string | null;
  weekly: RetrainingFigures;
  /** Over the forecasts from firstTrainedChampionFrom on; null before one. */
  quality: RegressionQualityRow | null;
}

export async function regressionTaskSummary(
  runner: SqlRunner,
  task: string,
  priorVersion: string,
): Promise<RegressionTaskSummary> {
  const from = await firstPredictionDateNotBy(runner, priorVersion, task);
  const [weekly, quality] = await Promise.all([
    readRetrainingFigures(runner, from, task),
    from === null ? Promise.resolve([]) : regressionQuality(runner, task, 'overall', { from }),
  ]);
  return { task, firstTrainedChampionFrom: from, weekly, quality: quality[0] ?? null };
}

/** retrainingFigures over what the store holds, of one task's runs (default rain's). */
export async function readRetrainingFigures(
  runner: SqlRunner,
  from: string | null,
  task = 'rain',
): Promise<RetrainingFigures> {
  const [runs, weeks] = await Promise.all([trainingRuns(runner, task), predictedWeeks(runner)]);
  return retrainingFigures(runs, weeks, from);
}

/** Records in the deployment's DLQ topic (the replay's invalid rows and every stage's rejections). */
export async function dlqCount(kafka: Kafka, topics: Pick<Topics, 'observationsDlq'>): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const ends = await topicEnds(admin, [topics.observationsDlq]);
    return (ends.get(topics.observationsDlq) ?? []).reduce((n, p) => n + (p.end - p.start), 0);
  } finally {
    await admin.disconnect();
  }
}

/** The figures of a summary line that could be measured, in order (a missing one is left out, never made up). */
export function summaryFigures(
  figures: Readonly<Record<string, number | null | undefined>>,
): [string, number][] {
  return Object.entries(figures).filter(
    (e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]),
  );
}
