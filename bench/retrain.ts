/**
 * bench:retrain — the cost of one week's retraining on the full history, all candidate families
 * together (consumers/trainer/training-run.ts with the real worker pool), and what warm starts cost in
 * forecast quality. No stack: the labeled history is built offline with the streaming features step
 * (bench/lib/retrain-history.ts) and fed to the trainer's in-memory history week by week.
 *
 * Two runs over the same last BENCH_RETRAIN_WEEKS event-time weeks of the file:
 * - incremental (the anchor of this bench is its own refit): the first run is a full fit (no model to
 *   continue), then warm starts, with the scheduled full refit every REFIT_EVERY_WEEKS weeks;
 * - full: every week a full refit of every family (warmStarts: false), the behaviour before warm starts.
 * Each week's champion (promoted through the same gates) forecasts the following week; the forecasts are
 * scored as in protocol 2 (prequential ROC AUC, Brier). Times are wall seconds of the whole weekly run
 * (split, training in the worker, scoring, selection, the winner's drift reference), measured on a
 * shared machine: compare the two modes of the same run rather than absolute figures.
 */
import { loadConfig } from '../lib/platform/config.ts';
import { LabeledHistory } from '../consumers/trainer/labeled-history.ts';
import { runTraining, WEEKLY_CANDIDATES, type TrainingRunResult } from '../consumers/trainer/training-run.ts';
import { FEATURE_NAMES } from '../lib/domain/features/feature-set.ts';
import { addDays, mondayOf } from '../lib/domain/time.ts';
import { clipDataset } from '../lib/domain/features/clipping.ts';
import { classificationReport } from '../lib/ml/metrics.ts';
import { TrainingPool } from '../lib/ml/worker-pool.ts';
import { championFromStored, priorChampion, type Champion } from '../lib/models/champion.ts';
import { artifactToStoredText } from '../lib/ml/artifact-codec.ts';
import type { LabeledExample } from '../lib/domain/events.ts';
import { offlineLabeledExamples } from './lib/retrain-history.ts';
import { fmt, formatTable, peakRssMb, progress, summaryLine } from './lib/report.ts';

const WEEKS = Number(process.env.BENCH_RETRAIN_WEEKS ?? 14);
const FAMILIES = (process.env.RETRAIN_FAMILIES ?? 'climatology,logreg,gbdt,forest').split(',');
const THRESHOLD = 0.5;
/** BENCH_RETRAIN_FULL=0 skips the full-refit-every-week run (its keys are then left out). */
const WITH_FULL = process.env.BENCH_RETRAIN_FULL !== '0';
/** BENCH_GBDT_WARM="trees,weeks" overrides the GBDT's warm start (trees added, weeks of rows). */
const GBDT_WARM = process.env.BENCH_GBDT_WARM?.split(',').map(Number);

interface WeekRun {
  week: string;
  seconds: number;
  result: TrainingRunResult;
}

interface ModeResult {
  runs: WeekRun[];
  probabilities: number[];
  labels: number[];
}

function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

async function replayWeeks(
  examples: readonly LabeledExample[],
  weeks: readonly string[],
  warmStarts: boolean,
  label: string,
): Promise<ModeResult> {
  const pool = new TrainingPool({ size: 1 });
  const history = new LabeledHistory(FEATURE_NAMES);
  let champion: Champion = priorChampion();
  let next = 0;
  const runs: WeekRun[] = [];
  const probabilities: number[] = [];
  const labels: number[] = [];
  const candidates = WEEKLY_CANDIDATES.filter((c) => FAMILIES.includes(c.family)).map((c) =>
    c.family === 'gbdt' && GBDT_WARM
      ? { ...c, warm: { trees: GBDT_WARM[0]! }, warmRows: { weeks: GBDT_WARM[1]! } }
      : c,
  );
  try {
    for (const week of weeks) {
      while (next < examples.length && examples[next]!.date < week) history.add(examples[next++]!);
      const started = performance.now();
      const result = await runTraining({
        pool,
        history,
        due: { week, coalescedWeeks: 1, dataUntil: addDays(week, -1), staleness: null },
        champion,
        candidates,
        threshold: THRESHOLD,
        minRows: 500,
        codeVersion: 'bench',
        warmStarts,
      });
      const seconds = (performance.now() - started) / 1000;
      runs.push({ week, seconds, result });
      if (result.decision?.promote && result.winnerVersion) {
        const winner = result.records.find((r) => r.version === result.winnerVersion)!;
        champion = championFromStored(winner);
      }
      // The champion of this boundary forecasts the week that follows it.
      const end = addDays(week, 7);
      const rows = [];
      for (let i = next; i < examples.length && examples[i]!.date < end; i++) rows.push(examples[i]!);
      const weekHistory = new LabeledHistory(FEATURE_NAMES, Math.max(1, rows.length));
      for (const r of rows) weekHistory.add(r);
      const slice = weekHistory.slice(Int32Array.from(rows.keys()));
      const data = champion.clip ? clipDataset(slice.data, champion.clip) : slice.data;
      const p = champion.model.predictBatch(data);
      for (let i = 0; i < p.length; i++) {
        probabilities.push(p[i]!);
        labels.push(slice.target[i]!);
      }
      const winner = result.decision?.winner;
      progress(
        `${label} ${week}: ${result.mode ?? '-'} ${fmt(seconds, 2)} s, winner ${winner?.name ?? '-'} ` +
          `(AUC ${fmt(winner?.primary, 4)}), promoted ${result.decision?.promote ? 'yes' : 'no'}`,
      );
    }
  } finally {
    await pool.close();
  }
  return { runs, probabilities, labels };
}

const config = loadConfig();
progress(`building the labeled history of ${config.dataFile} offline`);
const { examples } = await offlineLabeledExamples(config.dataFile);
const lastWeek = mondayOf(examples.at(-1)!.date);
// The last boundary leaves a week after it to forecast.
const weeks = Array.from({ length: WEEKS }, (_, k) => addDays(lastWeek, -7 * (WEEKS - k)));
progress(`${examples.length} labeled rows; ${WEEKS} weekly runs from ${weeks[0]} to ${weeks.at(-1)}`);

const incremental = await replayWeeks(examples, weeks, true, 'incremental');
const full: ModeResult = WITH_FULL
  ? await replayWeeks(examples, weeks, false, 'full')
  : { runs: [], probabilities: [], labels: [] };

const warmRuns = incremental.runs.filter((r) => r.result.mode === 'warm');
const fullRuns = incremental.runs.filter((r) => r.result.mode === 'full');
const warmSeconds = warmRuns.map((r) => r.seconds).sort((a, b) => a - b);
const warmTrainSeconds = warmRuns
  .map((r) => Object.values(r.result.training ?? {}).reduce((s, t) => s + t.seconds, 0))
  .sort((a, b) => a - b);
const fullSeconds = full.runs.map((r) => r.seconds).sort((a, b) => a - b);
const last = incremental.runs.at(-1)!.result;
const lastFull = full.runs.at(-1)?.result ?? incremental.runs[0]!.result;
const bytesOf = (result: TrainingRunResult, family: string) => result.training?.[family]?.artifactBytes;
const jsonBytesOf = (result: TrainingRunResult, family: string) => {
  const record = result.records.find((r) => r.family === family);
  return record ? JSON.stringify(record.bundle).length : undefined;
};
const storedBytesOf = (result: TrainingRunResult, family: string) => {
  const record = result.records.find((r) => r.family === family);
  return record ? artifactToStoredText(record.bundle).length : undefined;
};
const quality = (m: ModeResult) =>
  classificationReport(Float64Array.from(m.labels), Float64Array.from(m.probabilities), THRESHOLD);
const qIncremental = quality(incremental);
const qFull = WITH_FULL ? quality(full) : null;

console.log(
  `\nbench:retrain — ${WEEKS} weekly runs on the full history (${last.trainRows} training rows at the end), families ${FAMILIES.join(',')}\n`,
);
console.log(
  formatTable(
    ['week', 'mode', 'run s', 'train s (sum)', 'winner', 'full-refit run s'],
    incremental.runs.map((r, i) => [
      r.week,
      r.result.mode ?? '-',
      fmt(r.seconds, 3),
      fmt(
        Object.values(r.result.training ?? {}).reduce((s, t) => s + t.seconds, 0),
        3,
      ),
      r.result.decision?.winner?.name ?? '-',
      fmt(full.runs[i]?.seconds, 3),
    ]),
  ),
);
console.log('\nper family, last week (warm) and the full refit of the same week');
console.log(
  formatTable(
    [
      'family',
      'warm rows',
      'warm s',
      'full rows',
      'full s',
      'binary bytes',
      'stored (base64) bytes',
      'JSON bytes',
    ],
    FAMILIES.map((f) => {
      const w = last.training?.[f];
      const fl = lastFull.training?.[f];
      return [
        f,
        w?.rows,
        fmt(w?.seconds, 3),
        fl?.rows,
        fmt(fl?.seconds, 3),
        bytesOf(lastFull, f),
        storedBytesOf(lastFull, f),
        jsonBytesOf(lastFull, f),
      ];
    }),
  ),
);
console.log('\nprequential quality of the week after each run (each mode promotes through the same gates)');
console.log(
  formatTable(
    ['mode', 'scored', 'ROC AUC', 'Brier', 'accuracy'],
    [
      [
        'incremental',
        qIncremental.n,
        fmt(qIncremental.rocAuc, 4),
        fmt(qIncremental.brier, 4),
        fmt(qIncremental.accuracy, 4),
      ],
      ['full every week', qFull?.n, fmt(qFull?.rocAuc, 4), fmt(qFull?.brier, 4), fmt(qFull?.accuracy, 4)],
    ],
  ),
);
console.log(
  `\nwarm runs ${warmRuns.length} (median ${fmt(quantile(warmSeconds, 0.5), 3)} s, of which training ${fmt(quantile(warmTrainSeconds, 0.5), 3)} s); ` +
    `full runs in the incremental mode ${fullRuns.length}; full every week median ${fmt(quantile(fullSeconds, 0.5), 3)} s`,
);
console.log(
  summaryLine('retrain', {
    rows: last.trainRows,
    weeks: WEEKS,
    warm_runs: warmRuns.length,
    warm_p50_s: quantile(warmSeconds, 0.5),
    warm_p90_s: quantile(warmSeconds, 0.9),
    warm_train_p50_s: quantile(warmTrainSeconds, 0.5),
    full_s: quantile(fullSeconds, 0.5),
    warm_full_ratio: quantile(warmSeconds, 0.5) / quantile(fullSeconds, 0.5),
    bytes_gbdt: bytesOf(lastFull, 'gbdt'),
    bytes_forest: bytesOf(lastFull, 'forest'),
    bytes_logreg: bytesOf(lastFull, 'logreg'),
    bytes_climatology: bytesOf(lastFull, 'climatology'),
    json_bytes_forest: jsonBytesOf(lastFull, 'forest'),
    incremental_auc: qIncremental.rocAuc,
    full_auc: qFull?.rocAuc,
    incremental_brier: qIncremental.brier,
    full_brier: qFull?.brier,
    peak_rss_mb: peakRssMb(),
  }),
);
