/**
 * bench:prequential — protocol 2 of EVALUATION.md, forecast quality as users live it: the whole file
 * replayed in date order through every stage with weekly retraining on; each prediction is made by the
 * champion of that moment, before its label exists; every prediction is scored once its label joined,
 * read back from ClickHouse. The replay stays at most BENCH_LEAD_DAYS (default 7) ahead of the weekly
 * retraining, so every event-time week has a run of its own and a week is never scored by a model older than
 * the schedule allows. BENCH_FROM / BENCH_TO replay a date range only (a slice, for a shared machine).
 */
import { prequentialScores, type Score } from '../lib/platform/clickhouse/queries/quality.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { createProgress } from '../lib/platform/cli/progress.ts';
import { createKafka } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { readWeatherCsvFile } from '../lib/domain/weather/csv.ts';
import { replay } from '../producers/replay/replay.ts';
import { planReplay } from '../producers/replay/plan.ts';
import { expectedLabels, waitForSettled } from '../lib/deployment/drain.ts';
import { lagProbe, restGroups } from '../lib/deployment/consumer-groups.ts';
import { BOUNDARY_GRACE_DAYS } from '../consumers/trainer/step.ts';
import { benchDeployment } from './lib/deployment.ts';
import { fmt, formatTable, phaseRows, progress, summaryLine } from './lib/report.ts';
import { registerEvents } from '../lib/domain/events.ts';
import { pipelineSummary, readRetrainingFigures, regressionTaskSummary } from '../lib/deployment/summary.ts';
import { tasksOf } from '../lib/models/tasks.ts';
import { removeDeployment } from '../lib/deployment/teardown.ts';
import { trainingGate } from '../producers/replay/gate.ts';
import { startPipelineThreads, TWO_THREADS } from '../consumers/host/threads.ts';

const LEAD_DAYS = Number(process.env.BENCH_LEAD_DAYS ?? 7);
const FROM = process.env.BENCH_FROM || undefined;
const TO = process.env.BENCH_TO || undefined;
const KEEP = process.env.BENCH_KEEP === '1';

const { config, logger } = await benchDeployment('prequential', {
  RETRAIN_ENABLED: 'true',
  // The replay waits on the stages once a week: latency over throughput (as the demo).
  STAGE_FETCH_MIN_BYTES: process.env.STAGE_FETCH_MIN_BYTES ?? '1',
});
const FAMILIES = config.pipeline.retrainFamilies.join(',');
progress(
  `retraining families ${FAMILIES}, replay at most ${LEAD_DAYS} days ahead of the retraining` +
    (FROM || TO ? `, slice ${FROM ?? 'start'}..${TO ?? 'end'}` : ''),
);
const rows = await readWeatherCsvFile(config.dataFile);
const plan = planReplay(rows, { from: FROM, to: TO });

try {
  const pipeline = await startPipelineThreads(config, TWO_THREADS);
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  const clickhouse = createClickHouse(config.clickhouse);
  const kafka = createKafka(config, logger, { clientId: 'bench-replay' });
  const producer = createProducer(kafka);
  await producer.connect();
  const upToLabels = lagProbe(kafka, restGroups(config, 'labeler'));
  const everything = lagProbe(kafka, restGroups(config, 'drift'));
  const gate = trainingGate(clickhouse, LEAD_DAYS, {
    timeoutMs: 30 * 60_000,
    pipelineIdle: upToLabels.idle,
    tasks: config.pipeline.tasks,
  });
  const started = performance.now();
  const summary = await replay(
    rows,
    config.dataFile,
    { speed: 0, maxLeadDays: LEAD_DAYS, quiet: false, from: FROM, to: TO },
    {
      producer,
      codec,
      topics: config.topics,
      logger,
      waitForTraining: gate,
      progress: createProgress('replay', plan.events),
    },
  );
  await producer.disconnect();
  const labelsExpected = expectedLabels(plan.days.flatMap((d) => d.observations));
  const settled = await waitForSettled(clickhouse, {
    predictions: summary.events,
    labels: labelsExpected,
    idle: everything.idle,
    graceDays: BOUNDARY_GRACE_DAYS,
    tasks: config.pipeline.tasks,
    onWaiting: (what) => progress(`draining: waiting for ${what}`),
  });
  await Promise.all([upToLabels.close(), everything.close()]);
  const wallS = (performance.now() - started) / 1000;
  const overall = await pipelineSummary(clickhouse);
  const from = overall.firstTrainedChampionFrom ?? undefined;
  const [byYear, bySeason, byLocation, byModel] = await Promise.all(
    (['year', 'season', 'location', 'model'] as const).map((g) => prequentialScores(clickhouse, g, { from })),
  );
  const weekly = await readRetrainingFigures(clickhouse, from ?? null);
  const regressions = await Promise.all(
    tasksOf(config.pipeline.tasks)
      .filter((t) => t.type === 'regression')
      .map((t) => regressionTaskSummary(clickhouse, t.name, t.priorVersion)),
  );
  const final = await pipeline.stop();
  await clickhouse.close();

  const p = overall.prequential;
  const row = (s: Score) => [
    s.bucket,
    s.n,
    fmt(s.auc, 4),
    fmt(s.brier, 4),
    fmt(s.accuracy, 4),
    fmt(s.positives / s.n, 3),
  ];
  const head = ['bucket', 'scored', 'ROC AUC', 'Brier', 'accuracy', 'rain share'];
  const locations = [...byLocation!].sort((a, b) => a.auc - b.auc);
  console.log(
    `\nbench:prequential — ${summary.events} observations replayed in date order, weekly retraining on`,
  );
  console.log(
    `(families ${FAMILIES}; replay at most ${LEAD_DAYS} days ahead of the retraining; scored from ${from ?? '-'}, the first trained champion)\n`,
  );
  console.log(formatTable(head, p ? [row({ ...p, bucket: 'all' })] : []));
  console.log(`\nper year\n${formatTable(head, byYear!.map(row))}`);
  console.log(`\nper season\n${formatTable(head, bySeason!.map(row))}`);
  console.log(
    `\nworst and best stations\n${formatTable(head, [...locations.slice(0, 5), ...locations.slice(-3)].map(row))}`,
  );
  console.log(`\nper serving model (first 5 by date)\n${formatTable(head, byModel!.slice(0, 5).map(row))}`);
  if (!settled.settled) console.log(`\nNOT DRAINED: stalled waiting for ${settled.waitingFor.join(', ')}`);
  console.log(
    `\nweekly retraining from ${from ?? '-'}: weeks replayed ${weekly.weeksReplayed} (the last left out: its run needs the week after it), retrained in a run of their own ${weekly.weeksTrained}, most weeks coalesced ${weekly.maxCoalescedWeeks}, largest staleness ${weekly.maxStalenessDays ?? '-'} days (outside the data's holes)`,
  );
  console.log(
    `weekly runs ${weekly.weeklyRuns} (commands ${weekly.commandRuns}), seconds per run median ${fmt(weekly.retrainP50, 2)} p90 ${fmt(weekly.retrainP90, 2)}; labels joined ${overall.counts.labeled_examples} of ${labelsExpected} expected`,
  );
  console.log(
    `models registered ${overall.modelsTrained}, promoted ${overall.modelsPromoted}; wall ${fmt(wallS, 1)} s`,
  );
  console.log(
    `\nwhere the stages' time went\n${formatTable(['stage', 'phase', 'busy s', 'share of stage'], phaseRows(final.counters))}`,
  );
  for (const r of regressions) {
    console.log(
      `task ${r.task} (regression) from ${r.firstTrainedChampionFrom ?? '-'}: weekly runs ${r.weekly.weeklyRuns}, seconds per run median ${fmt(r.weekly.retrainP50, 2)} p90 ${fmt(r.weekly.retrainP90, 2)}, weeks retrained ${r.weekly.weeksTrained} of ${r.weekly.weeksReplayed} (most coalesced ${r.weekly.maxCoalescedWeeks}); scored ${r.quality?.n ?? 0}, R² ${fmt(r.quality?.r2, 4)}, RMSE ${fmt(r.quality?.rmse, 2)}, MAE ${fmt(r.quality?.mae, 2)}`,
    );
  }
  const w = gate.waits;
  console.log(
    `the replay waited ${w.waits} times: ${fmt(w.pipelineMs / 1000, 1)} s for the stages up to the label join, ${fmt(w.trainingMs / 1000, 1)} s for the weekly runs`,
  );
  console.log(
    summaryLine('prequential', {
      scored: p?.n,
      auc: p?.auc,
      brier: p?.brier,
      accuracy: p?.accuracy,
      models_trained: overall.modelsTrained,
      models_promoted: overall.modelsPromoted,
      training_runs: weekly.weeklyRuns,
      weeks_replayed: weekly.weeksReplayed,
      weeks_trained: weekly.weeksTrained,
      max_coalesced_weeks: weekly.maxCoalescedWeeks,
      max_staleness_days: weekly.maxStalenessDays,
      retrain_p50_s: weekly.retrainP50,
      retrain_p90_s: weekly.retrainP90,
      worst_location_auc: locations[0]?.auc,
      wall_s: wallS,
      gate_waits: w.waits,
      gate_pipeline_s: w.pipelineMs / 1000,
      gate_training_s: w.trainingMs / 1000,
      events: summary.events,
      labels_joined: overall.counts.labeled_examples,
      labels_expected: labelsExpected,
      ...Object.fromEntries(
        regressions.flatMap((r) => [
          [`${r.task}_runs`, r.weekly.weeklyRuns],
          [`${r.task}_retrain_p50_s`, r.weekly.retrainP50],
          [`${r.task}_retrain_p90_s`, r.weekly.retrainP90],
          [`${r.task}_weeks_trained`, r.weekly.weeksTrained],
          [`${r.task}_r2`, r.quality?.r2],
          [`${r.task}_rmse`, r.quality?.rmse],
          [`${r.task}_mae`, r.quality?.mae],
        ]),
      ),
    }),
  );
} finally {
  if (!KEEP) {
    progress('removing the bench deployment');
    await removeDeployment(config, logger);
  }
}
