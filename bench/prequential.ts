/**
 * bench:prequential — protocol 2 of EVALUATION.md, forecast quality as users live it: the whole file
 * replayed in date order through every stage with weekly retraining on; each prediction is made by the
 * champion of that moment, before its label exists; every prediction is scored once its label joined,
 * read back from ClickHouse. The replay stays at most --max-lead-days ahead of the retraining, so a week
 * is never scored by a model older than the retraining schedule allows.
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
import { waitForDrain } from '../lib/deployment/drain.ts';
import { benchDeployment } from './lib/deployment.ts';
import { fmt, formatTable, progress, summaryLine } from './lib/report.ts';
import { registerEvents } from '../lib/domain/events.ts';
import { pipelineSummary } from '../lib/deployment/summary.ts';
import { removeDeployment } from '../lib/deployment/teardown.ts';
import { trainingGate } from '../producers/replay/gate.ts';
import { stalenessSummary } from '../lib/platform/clickhouse/queries/training.ts';
import { startPipelineThreads, TWO_THREADS } from '../consumers/host/threads.ts';

const LEAD_DAYS = Number(process.env.BENCH_LEAD_DAYS ?? 14);
const FAMILIES = process.env.RETRAIN_FAMILIES ?? 'climatology,logreg,gbdt';
const KEEP = process.env.BENCH_KEEP === '1';

const { config, logger } = await benchDeployment('prequential', {
  RETRAIN_ENABLED: 'true',
  RETRAIN_FAMILIES: FAMILIES,
});
progress(`retraining families ${FAMILIES}, replay at most ${LEAD_DAYS} days ahead of the retraining`);
const rows = await readWeatherCsvFile(config.dataFile);

try {
  const pipeline = await startPipelineThreads(config, TWO_THREADS);
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  const clickhouse = createClickHouse(config.clickhouse);
  const producer = createProducer(createKafka(config, logger, { clientId: 'bench-replay' }));
  await producer.connect();
  const started = performance.now();
  const summary = await replay(
    rows,
    config.dataFile,
    { speed: 0, maxLeadDays: LEAD_DAYS, quiet: false },
    {
      producer,
      codec,
      topics: config.topics,
      logger,
      waitForTraining: trainingGate(clickhouse, LEAD_DAYS, { timeoutMs: 30 * 60_000 }),
      progress: createProgress('replay', planReplay(rows).events),
    },
  );
  await producer.disconnect();
  await waitForDrain(clickhouse, { predictions: summary.events, stallMs: 120_000 });
  const wallS = (performance.now() - started) / 1000;
  const overall = await pipelineSummary(clickhouse);
  const from = overall.firstTrainedChampionFrom ?? undefined;
  const [byYear, bySeason, byLocation, byModel] = await Promise.all(
    (['year', 'season', 'location', 'model'] as const).map((g) => prequentialScores(clickhouse, g, { from })),
  );
  const staleness = await stalenessSummary(clickhouse);
  await pipeline.stop();
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
  console.log(
    `\ntraining runs ${staleness?.runs ?? 0} (skipped for want of rows: ${staleness?.skipped ?? 0}), weeks covered ${staleness?.coalesced ?? 0}, staleness days median ${fmt(Number(staleness?.p50), 0)} max ${fmt(Number(staleness?.max), 0)}`,
  );
  console.log(
    `models registered ${overall.modelsTrained}, promoted ${overall.modelsPromoted}; wall ${fmt(wallS, 1)} s`,
  );
  console.log(
    summaryLine('prequential', {
      scored: p?.n,
      auc: p?.auc,
      brier: p?.brier,
      accuracy: p?.accuracy,
      models_trained: overall.modelsTrained,
      models_promoted: overall.modelsPromoted,
      worst_location_auc: locations[0]?.auc,
      wall_s: wallS,
      events: summary.events,
      training_runs: Number(staleness?.runs ?? NaN),
    }),
  );
} finally {
  if (!KEEP) {
    progress('removing the bench deployment');
    await removeDeployment(config, logger);
  }
}
