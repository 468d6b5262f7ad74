/**
 * bench:retrain-tasks — seconds per weekly run of each task (lib/models/tasks.ts) on the full history, as
 * the trainer runs them (consumers/trainer/training-run.ts, the real worker pool, the task's families,
 * warm starts between the scheduled full refits), and the quality each task's champion then serves the
 * week after (rain: ROC AUC; max_temp: R², RMSE, MAE). No stack: the labeled histories are built offline
 * with the streaming features step (bench/lib/retrain-history.ts); max_temp's label is the next day's
 * MaxTemp, read like the label join does from the next day's feature vector (TASKS.max_temp.label).
 *
 * The anchor of this bench is rain's run in the same process: the question it answers is whether a second
 * task multiplies the weekly wall time of a gated replay. BENCH_TASK_WEEKS (default 8) weekly runs over
 * the file's last weeks; the first run of each task is a full fit (no model to continue).
 */
import { LabeledHistory } from '../consumers/trainer/labeled-history.ts';
import { runTraining, type TrainingRunResult } from '../consumers/trainer/training-run.ts';
import { clipDataset } from '../lib/domain/features/clipping.ts';
import { FEATURE_NAMES } from '../lib/domain/features/feature-set.ts';
import { addDays, mondayOf } from '../lib/domain/time.ts';
import type { LabeledExample } from '../lib/domain/events.ts';
import { classificationReport, regressionReport } from '../lib/ml/metrics.ts';
import { TrainingPool } from '../lib/ml/worker-pool.ts';
import { championFromStored, priorChampion, type Champion } from '../lib/models/champion.ts';
import { TASKS, type TaskDeclaration } from '../lib/models/tasks.ts';
import { loadConfig } from '../lib/platform/config.ts';
import { offlineLabeledExamples } from './lib/retrain-history.ts';
import { fmt, formatTable, progress, summaryLine } from './lib/report.ts';

const WEEKS = Number(process.env.BENCH_TASK_WEEKS ?? 8);

/** The examples of `task`: rain's as built; max_temp's labeled from the next day's row of the station. */
function examplesOf(task: TaskDeclaration, rain: readonly LabeledExample[]): LabeledExample[] {
  if (task.type === 'classification') return [...rain];
  const byDay = new Map<string, LabeledExample>();
  for (const e of rain) byDay.set(`${e.location}|${e.date}`, e);
  const out: LabeledExample[] = [];
  for (const e of rain) {
    const next = byDay.get(`${e.location}|${addDays(e.date, 1)}`);
    if (!next) continue;
    const target = task.label({ rainToday: null, values: next.values });
    if (target === null) continue;
    out.push({ ...e, task: task.name, label: false, target, value: null });
  }
  return out;
}

interface TaskRun {
  week: string;
  seconds: number;
  result: TrainingRunResult;
}

async function replayTask(
  task: TaskDeclaration,
  examples: readonly LabeledExample[],
  weeks: readonly string[],
) {
  const pool = new TrainingPool({ size: 1 });
  const history = new LabeledHistory(FEATURE_NAMES, 4096, task.type);
  let champion: Champion = priorChampion(task);
  let next = 0;
  const runs: TaskRun[] = [];
  const predicted: number[] = [];
  const actual: number[] = [];
  try {
    for (const week of weeks) {
      while (next < examples.length && examples[next]!.date < week) history.add(examples[next++]!);
      const started = performance.now();
      const result = await runTraining({
        task,
        pool,
        history,
        due: { week, coalescedWeeks: 1, dataUntil: addDays(week, -1), staleness: null },
        champion,
        threshold: 0.5,
        minRows: 500,
        codeVersion: 'bench',
      });
      const seconds = (performance.now() - started) / 1000;
      runs.push({ week, seconds, result });
      if (result.decision?.promote && result.winnerVersion) {
        const winner = result.records.find((r) => r.version === result.winnerVersion)!;
        champion = championFromStored(winner, task);
      }
      // The champion of this boundary forecasts the week that follows it.
      const end = addDays(week, 7);
      const rows: LabeledExample[] = [];
      for (let i = next; i < examples.length && examples[i]!.date < end; i++) rows.push(examples[i]!);
      const weekHistory = new LabeledHistory(FEATURE_NAMES, Math.max(1, rows.length), task.type);
      for (const r of rows) weekHistory.add(r);
      const slice = weekHistory.slice(Int32Array.from({ length: weekHistory.size }, (_, i) => i));
      const p = champion.model.predictBatch(
        champion.clip ? clipDataset(slice.data, champion.clip) : slice.data,
      );
      for (let i = 0; i < p.length; i++) {
        predicted.push(p[i]!);
        actual.push(slice.target[i]!);
      }
      progress(
        `${task.name} ${week}: ${result.mode ?? '-'} ${fmt(seconds, 2)} s, winner ${result.decision?.winner?.name ?? '-'}` +
          `${result.decision?.promote ? ' (promoted)' : ''}, champion ${champion.version}; fits ` +
          Object.entries(result.training ?? {})
            .map(([name, t]) => `${name} ${t.mode} ${t.rows} rows ${fmt(t.seconds, 2)} s`)
            .join(', '),
      );
    }
  } finally {
    await pool.close();
  }
  return { runs, predicted: Float64Array.from(predicted), actual: Float64Array.from(actual) };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0
    ? NaN
    : s.length % 2
      ? s[(s.length - 1) / 2]!
      : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const config = loadConfig();
progress(`building the labeled history of ${config.dataFile}`);
const { examples: rainExamples } = await offlineLabeledExamples(config.dataFile);
const lastWeek = mondayOf(rainExamples.at(-1)!.date);
const weeks = Array.from({ length: WEEKS }, (_, k) => addDays(lastWeek, -7 * (WEEKS - k)));
progress(
  `${rainExamples.length} rain rows; ${WEEKS} weekly runs per task from ${weeks[0]} to ${weeks.at(-1)}`,
);

const rows: (string | number)[][] = [];
const figures: Record<string, number> = { weeks: WEEKS };
for (const task of [TASKS.rain, TASKS.max_temp]) {
  const examples = examplesOf(task, rainExamples);
  const { runs, predicted, actual } = await replayTask(task, examples, weeks);
  const warm = runs.filter((r) => r.result.mode === 'warm').map((r) => r.seconds);
  const full = runs.filter((r) => r.result.mode === 'full').map((r) => r.seconds);
  const all = runs.map((r) => r.seconds);
  const quality =
    task.type === 'classification'
      ? `ROC AUC ${fmt(classificationReport(actual, predicted, 0.5).rocAuc, 4)}`
      : (() => {
          const r = regressionReport(actual, predicted);
          figures[`${task.name}_r2`] = r.r2;
          figures[`${task.name}_rmse`] = r.rmse;
          figures[`${task.name}_mae`] = r.mae;
          return `R² ${fmt(r.r2, 4)}, RMSE ${fmt(r.rmse, 2)} °C, MAE ${fmt(r.mae, 2)} °C`;
        })();
  if (task.type === 'classification') figures.rain_auc = classificationReport(actual, predicted, 0.5).rocAuc;
  figures[`${task.name}_run_median_s`] = median(all);
  figures[`${task.name}_warm_median_s`] = median(warm);
  figures[`${task.name}_full_s`] = median(full);
  rows.push([
    task.name,
    examples.length,
    runs.length,
    fmt(median(full), 2),
    fmt(median(warm), 2),
    fmt(median(all), 2),
    fmt(Math.max(...all), 2),
    `${runs.filter((r) => r.result.decision?.promote).length}`,
    quality,
  ]);
}
console.log(
  `\nbench:retrain-tasks — weekly runs on the full history, the last ${WEEKS} weeks of the file, each task's families and warm starts\n`,
);
console.log(
  formatTable(
    [
      'task',
      'labeled rows',
      'runs',
      'full s',
      'warm s median',
      'all s median',
      'max s',
      'promoted',
      'next-week quality',
    ],
    rows,
  ),
);
figures.max_temp_over_rain = figures.max_temp_run_median_s! / figures.rain_run_median_s!;
console.log(summaryLine('retrain-tasks', figures));
