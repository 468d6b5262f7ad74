/**
 * npm run bench:train — protocol 1 of EVALUATION.md (raw columns) for every rainstream family and, in
 * the same run on the identical matrix, scikit-learn's RandomForest, HistGradientBoosting,
 * LogisticRegression and XGBoost hist through Debian's Python. Each model trains in a process of its
 * own (peak RSS is per model). Table on stdout, progress on stderr, the summary line last (BENCH.md).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { classificationReport, type ClassificationReport } from '../lib/ml/metrics.ts';
import { readWeatherCsvFile } from '../lib/weather/csv.ts';
import { ensureAnchors, PYTHON, pythonEnv } from './lib/anchors.ts';
import { runJsonChild } from './lib/child.ts';
import { buildProtocol1, readPredictions, writeLabeled } from './lib/protocol1.ts';
import { fmt, formatTable, progress, summaryLine, type Cell } from './lib/report.ts';
import type { ChildResult } from './lib/train-child.ts';

const DATA_FILE =
  process.env.DATA_FILE ?? new URL('../../shared/data/weatherAUS.csv.gz', import.meta.url).pathname;
const SEED = 1;

interface PythonResult {
  model: string;
  trainSeconds: number;
  predictUsPerRowBatch: number;
  maxRssMb: number;
  versions: Record<string, string>;
  blas: Record<string, unknown>[];
  trees?: number;
}

interface Row {
  key: string;
  label: string;
  report: ClassificationReport | null;
  trainSeconds: number | null;
  predictUs: number | null;
  maxRssMb: number | null;
  /** Which anchor the training-time ratio is taken against. */
  ratioAgainst?: string[];
  failure?: string;
}

interface RainstreamRun {
  kind: 'rainstream';
  key: string;
  family: string;
  label: string;
  params: Record<string, unknown>;
  latency?: boolean;
  ratioAgainst: string[];
}
interface AnchorRun {
  kind: 'anchor';
  key: string;
  label: string;
}

/**
 * Interleaved (each rainstream family next to its anchor) so that load from other work on a shared
 * machine, which drifts over minutes, hits both sides of a ratio alike.
 */
const RUNS: (RainstreamRun | AnchorRun)[] = [
  {
    kind: 'rainstream',
    key: 'gbdt',
    family: 'gbdt',
    label: 'rainstream gbdt (300 rounds)',
    params: { maxIterations: 300, earlyStoppingRounds: 0 },
    latency: true,
    ratioAgainst: ['sk_hgb', 'xgb'],
  },
  { kind: 'anchor', key: 'sk_hgb', label: 'sklearn HistGradientBoosting(max_iter=300)' },
  { kind: 'anchor', key: 'xgb', label: 'XGBoost hist (300 trees, depth 6, n_jobs=2)' },
  {
    kind: 'rainstream',
    key: 'gbdt_es',
    family: 'gbdt',
    label: 'rainstream gbdt (<= 300 rounds, early stopping)',
    params: { maxIterations: 300 },
    ratioAgainst: ['sk_hgb', 'xgb'],
  },
  {
    kind: 'rainstream',
    key: 'rf',
    family: 'forest',
    label: 'rainstream forest (100 trees, min leaf 2)',
    params: { nTrees: 100, minSamplesLeaf: 2 },
    ratioAgainst: ['sk_rf'],
  },
  { kind: 'anchor', key: 'sk_rf', label: 'sklearn RandomForest(100, min leaf 2, n_jobs=2)' },
  {
    kind: 'rainstream',
    key: 'logreg',
    family: 'logreg',
    label: 'rainstream logreg (standardized, L2)',
    params: {},
    ratioAgainst: ['sk_logreg'],
  },
  { kind: 'anchor', key: 'sk_logreg', label: 'sklearn LogisticRegression (median, scaled)' },
  {
    kind: 'rainstream',
    key: 'mlrf',
    family: 'mlrf',
    label: 'ml-random-forest (bounded sample)',
    params: {},
    ratioAgainst: ['sk_rf'],
  },
];

async function main(): Promise<void> {
  const started = performance.now();
  progress('checking the anchors (scikit-learn, XGBoost) ...');
  let anchorsReady = true;
  let anchorFailure = '';
  try {
    ensureAnchors();
  } catch (err) {
    anchorsReady = false;
    anchorFailure = (err as Error).message;
    progress(`anchors unavailable: ${anchorFailure}`);
  }

  progress(`reading ${DATA_FILE} ...`);
  const p1 = buildProtocol1(await readWeatherCsvFile(DATA_FILE));
  const nTrain = p1.train.data.nRows;
  const nTest = p1.test.data.nRows;
  const rate = p1.test.target.reduce((a, b) => a + b, 0) / nTest;
  progress(
    `protocol 1: ${nTrain} train rows, ${nTest} test rows (${(rate * 100).toFixed(1)} % rain), ${p1.featureNames.length} features`,
  );

  const dir = mkdtempSync(join(tmpdir(), 'rainstream-bench-train-'));
  const rows: Row[] = [];
  const childInfo = new Map<string, ChildResult>();
  const pyInfo = new Map<string, PythonResult>();
  try {
    writeLabeled(dir, 'train', p1.train);
    writeLabeled(dir, 'test', p1.test);

    const { env, unset } = pythonEnv();
    const loadBefore = loadavg();
    for (const spec of RUNS) {
      const failed = (failure: string) => {
        progress(`  ${spec.key} failed: ${failure}`);
        rows.push({
          key: spec.key,
          label: spec.label,
          report: null,
          trainSeconds: null,
          predictUs: null,
          maxRssMb: null,
          failure,
        });
      };
      if (spec.kind === 'anchor' && !anchorsReady) {
        failed(anchorFailure);
        continue;
      }
      progress(`training ${spec.label} ...`);
      const out = join(dir, `${spec.key}.p.f64`);
      try {
        if (spec.kind === 'rainstream') {
          const args = [
            new URL('./lib/train-child.ts', import.meta.url).pathname,
            ...['--dir', dir, '--family', spec.family, '--params', JSON.stringify(spec.params)],
            ...['--seed', String(SEED), '--out', out],
            ...(spec.latency ? ['--latency'] : []),
          ];
          const r = await runJsonChild<ChildResult>(process.execPath, args);
          childInfo.set(spec.key, r);
          rows.push({
            key: spec.key,
            label: spec.label,
            report: classificationReport(p1.test.target, readPredictions(out, nTest)),
            trainSeconds: r.trainSeconds,
            predictUs: r.predictUsPerRowBatch,
            maxRssMb: r.maxRssMb,
            ratioAgainst: spec.ratioAgainst,
          });
        } else {
          const script = new URL('./anchors/train_anchor.py', import.meta.url).pathname;
          const r = await runJsonChild<PythonResult>(PYTHON, [script, dir, spec.key, out], env);
          pyInfo.set(spec.key, r);
          rows.push({
            key: spec.key,
            label: spec.label,
            report: classificationReport(p1.test.target, readPredictions(out, nTest)),
            trainSeconds: r.trainSeconds,
            predictUs: r.predictUsPerRowBatch,
            maxRssMb: r.maxRssMb,
          });
        }
        const last = rows.at(-1)!;
        progress(`  ${spec.key}: ${fmt(last.trainSeconds, 2)} s, AUC ${fmt(last.report?.rocAuc, 4)}`);
      } catch (err) {
        failed((err as Error).message);
      }
    }
    const loadAfter = loadavg();

    const byKey = new Map(rows.map((r) => [r.key, r]));
    const train = (key: string) => byKey.get(key)?.trainSeconds ?? null;
    const ratio = (row: Row): { value: number | null; against: string } => {
      if (!row.ratioAgainst || row.trainSeconds === null) return { value: null, against: '' };
      const refs = row.ratioAgainst
        .map((k) => ({ k, s: train(k) }))
        .filter((x): x is { k: string; s: number } => x.s !== null);
      if (refs.length === 0) return { value: null, against: '' };
      const best = refs.reduce((a, b) => (b.s < a.s ? b : a));
      return { value: row.trainSeconds / best.s, against: best.k };
    };

    const prior = p1.train.target.reduce((a, b) => a + b, 0) / nTrain;
    const priorReport = classificationReport(p1.test.target, new Float64Array(nTest).fill(prior));
    const headers = [
      'model',
      'ROC AUC',
      'PR AUC',
      'accuracy',
      'F1 (Yes)',
      'Brier',
      'train s',
      'predict µs/row (batch)',
      'peak RSS MB',
      'train ratio',
    ];
    const tableRows: Cell[][] = [
      [
        'prior (train rain rate)',
        fmt(priorReport.rocAuc),
        fmt(priorReport.prAuc),
        fmt(priorReport.accuracy),
        fmt(priorReport.f1),
        fmt(priorReport.brier),
        '-',
        '-',
        '-',
        '-',
      ],
    ];
    for (const row of rows) {
      const r = row.report;
      const q = ratio(row);
      tableRows.push([
        row.failure ? `${row.label} (failed)` : row.label,
        fmt(r?.rocAuc, 4),
        fmt(r?.prAuc),
        fmt(r?.accuracy),
        fmt(r?.f1),
        fmt(r?.brier, 4),
        fmt(row.trainSeconds, 2),
        fmt(row.predictUs, 2),
        fmt(row.maxRssMb, 0),
        q.value === null ? '-' : `${q.value.toFixed(2)}x ${q.against}`,
      ]);
    }

    const gbdt = childInfo.get('gbdt');
    const mlrf = childInfo.get('mlrf');
    const blas = [...pyInfo.values()][0]?.blas;
    const versions = [...pyInfo.values()].reduce<Record<string, string>>(
      (a, r) => ({ ...a, ...r.versions }),
      {},
    );
    const notes = [
      `Protocol 1, raw columns (${p1.featureNames.length} features): train Date < 2016-01-01 (${nTrain} rows), test after (${nTest} rows, ${(rate * 100).toFixed(1)} % rain). Same Float32 matrix for every model; metrics computed by lib/ml/metrics.ts for all.`,
      `Each model trained in its own process; peak RSS is that process's (including the loaded matrix). Python: ${PYTHON}, ${
        Object.entries(versions)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || 'not run'
      }.`,
      `OpenBLAS env for the Python children: ${unset.length ? `unset ${unset.join(' and ')}` : 'OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE were not set, nothing unset'}; BLAS in use: ${blas ? JSON.stringify(blas) : 'unknown'}.`,
      `gbdt rows: "300 rounds" trains on all ${nTrain} rows for 300 rounds (${gbdt?.trees ?? '?'} trees; the summary's gbdt_* keys); "early stopping" holds out the latest 10 % of training rows and kept ${childInfo.get('gbdt_es')?.trees ?? '?'} trees; sklearn HGB ran ${pyInfo.get('sk_hgb')?.trees ?? '?'} iterations (its default early stopping on a random 10 %).`,
      `Load average (1, 5, 15 min) before the runs ${loadBefore.map((l) => l.toFixed(2)).join(', ')}, after ${loadAfter.map((l) => l.toFixed(2)).join(', ')}, on ${availableParallelism()} cores: timings compare within this run only, and load from other work skews them.`,
      gbdt?.latency
        ? `predict_us: one row per predictRow call, ${gbdt.latency.trees}-tree GBDT, median over ${gbdt.latency.calls} calls = ${gbdt.latency.medianUs.toFixed(2)} µs (p99 ${gbdt.latency.p99Us.toFixed(2)} µs).`
        : 'predict_us: not measured (gbdt failed).',
      mlrf
        ? `ml-random-forest trained on ${String(mlrf.params.sampleRows)} of ${nTrain} rows (${String(mlrf.params.nEstimators)} trees, depth ${String(mlrf.params.maxDepth)}, ${String(mlrf.params.maxFeatures)} of the features per tree): its training time grows about quadratically with rows.`
        : 'ml-random-forest: failed (see above).',
      ...rows.filter((r) => r.failure).map((r) => `${r.label}: not measured: ${r.failure}`),
    ];

    process.stdout.write(
      `\n${formatTable(headers, tableRows)}\n\n${notes.map((n) => `- ${n}`).join('\n')}\n\n`,
    );
    const auc = (k: string) => byKey.get(k)?.report?.rocAuc;
    const gbdtRatio = ratio(byKey.get('gbdt')!).value;
    const rfRow = byKey.get('rf')!;
    const skRf = train('sk_rf');
    process.stdout.write(
      `${summaryLine('train', {
        gbdt_auc: auc('gbdt'),
        gbdt_brier: byKey.get('gbdt')?.report?.brier,
        gbdt_train_s: train('gbdt'),
        rf_auc: auc('rf'),
        rf_train_s: train('rf'),
        logreg_auc: auc('logreg'),
        mlrf_auc: auc('mlrf'),
        mlrf_train_s: train('mlrf'),
        mlrf_rows: typeof mlrf?.params.sampleRows === 'number' ? mlrf.params.sampleRows : null,
        sk_hgb_auc: auc('sk_hgb'),
        sk_hgb_train_s: train('sk_hgb'),
        sk_rf_auc: auc('sk_rf'),
        sk_rf_train_s: skRf,
        sk_logreg_auc: auc('sk_logreg'),
        xgb_auc: auc('xgb'),
        xgb_train_s: train('xgb'),
        gbdt_train_ratio: train('sk_hgb') !== null && train('xgb') !== null ? gbdtRatio : null,
        rf_train_ratio: rfRow.trainSeconds !== null && skRf !== null ? rfRow.trainSeconds / skRf : null,
        predict_us: gbdt?.latency?.medianUs,
        peak_rss_mb: gbdt?.maxRssMb,
      })}\n`,
    );
    progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
