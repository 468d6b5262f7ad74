/**
 * Trainer shell: follows the labeled topic into an in-memory history (rebuilt from the log at every start,
 * through a private consumer group), and at each event-time week boundary trains the candidates in a
 * worker, registers them, and promotes the winner when the gates pass. Training runs beside consumption:
 * when the stream outruns it, boundaries coalesce into one pending run (retrain-schedule step).
 */
import { randomUUID } from 'node:crypto';
import { codeVersion } from '../../lib/platform/code-version.ts';
import { FEATURE_NAMES } from '../../lib/domain/features/feature-set.ts';
import { runBatchConsumer } from '../../lib/platform/kafka/consumer.ts';
import { TrainingPool } from '../../lib/ml/worker-pool.ts';
import { currentAlias, registerModels } from '../../lib/models/registry.ts';
import { promote } from '../../lib/models/promotion.ts';
import { addDays } from '../../lib/domain/time.ts';
import { LabeledHistory } from './labeled-history.ts';
import { decodeBatch, type RunningStage, type StageDeps } from '../shell/stage.ts';
import {
  BOUNDARY_GRACE_DAYS,
  initialScheduleState,
  onLabeled,
  onTrainingFinished,
  type DueTraining,
  type RetrainScheduleState,
} from './step.ts';
import { trainingRunRow } from './rows.ts';
import { runTraining, WEEKLY_CANDIDATES } from './training-run.ts';
import { lastTrainedWeek } from '../../lib/platform/clickhouse/queries/training.ts';

export async function startTrainerStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, metrics, champion } = deps;
  if (!champion) throw new Error('the trainer stage needs a champion source');
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'trainer' });
  const history = new LabeledHistory(FEATURE_NAMES);
  const pool = new TrainingPool({ size: 1 });
  const version = codeVersion();

  const resumeAfter = await lastTrainedWeek(deps.clickhouse);
  let schedule: RetrainScheduleState = {
    ...initialScheduleState(champion.current().trainedUntil),
    week: resumeAfter,
  };
  let training: Promise<void> | null = null;
  let stopping = false;

  const train = async (due: DueTraining): Promise<void> => {
    const startedAt = clock();
    const current = champion.current();
    log.info({ week: due.week, coalesced: due.coalescedWeeks, rows: history.size }, 'retraining');
    const result = await runTraining({
      pool,
      history,
      due,
      champion: current,
      threshold: config.pipeline.decisionThreshold,
      minRows: config.pipeline.retrainMinRows,
      candidates: WEEKLY_CANDIDATES.filter((c) => config.pipeline.retrainFamilies.includes(c.family)),
      codeVersion: version,
      clock,
    });
    if (result.records.length > 0) await registerModels(deps.clickhouse, result.records);
    const promoted = result.decision?.promote === true && result.winnerVersion !== null;
    if (promoted) {
      const winner = result.records.find((r) => r.version === result.winnerVersion)!;
      await promote(
        { clickhouse: deps.clickhouse, producer: deps.producer, codec, topics: config.topics },
        {
          alias: 'champion',
          version: winner.version,
          family: winner.family,
          previousVersion: current.version,
          reason: result.reason,
        },
      );
      metrics.inc('models_promoted');
    } else if (result.winnerVersion !== null) {
      // The best candidate that did not pass the gates stays visible as the challenger.
      const previous = await currentAlias(deps.clickhouse, 'challenger');
      const winner = result.records.find((r) => r.version === result.winnerVersion)!;
      await promote(
        { clickhouse: deps.clickhouse, producer: deps.producer, codec, topics: config.topics },
        {
          alias: 'challenger',
          version: winner.version,
          family: winner.family,
          previousVersion: previous?.version ?? null,
          reason: result.reason,
        },
      );
    }
    const finishedAt = clock();
    await deps.clickhouse.insertRows('training_runs', [trainingRunRow(due, result, startedAt, finishedAt)]);
    metrics.inc('models_trained', undefined, result.records.length);
    metrics.inc('training_runs', { status: result.status });
    log.info(
      {
        week: due.week,
        status: result.status,
        promoted,
        winner: result.winnerVersion,
        reason: result.reason,
        seconds: (finishedAt - startedAt) / 1000,
      },
      'retraining finished',
    );
    const next = onTrainingFinished(schedule, { promoted, dataUntil: due.dataUntil });
    schedule = next.state;
    if (next.due && !stopping) start(next.due);
  };

  const start = (due: DueTraining) => {
    const run = train(due).catch((error: unknown) => {
      metrics.inc('training_runs', { status: 'failed' });
      log.error({ err: error, week: due.week }, 'retraining failed; the champion stays');
      const next = onTrainingFinished(schedule, { promoted: false, dataUntil: due.dataUntil });
      schedule = next.state;
      if (next.due && !stopping) start(next.due);
    });
    training = run;
    void run.finally(() => {
      if (training === run) training = null;
    });
  };

  const running = await runBatchConsumer({
    kafka: deps.kafka,
    // The history is rebuilt from the whole topic at every start, so the group is private and fresh.
    groupId: `${config.groupPrefix}.trainer-${randomUUID()}`,
    topics: [config.topics.labeled],
    fromBeginning: true,
    logger: log,
    async handleBatch(records) {
      const { decoded } = await decodeBatch(codec, 'labeled', records);
      for (const { event } of decoded) {
        if (!history.add(event)) {
          metrics.inc('trainer_examples', { outcome: 'wrong-width' });
          continue;
        }
        if (!config.pipeline.retrainEnabled) continue;
        // Partitions are read in turn: a boundary counts as crossed a couple of days late, so the
        // stragglers of the week before are in the history when its run starts.
        const step = onLabeled(schedule, addDays(event.date, -BOUNDARY_GRACE_DAYS), training !== null);
        schedule = step.state;
        if (step.due) start(step.due);
      }
    },
  });
  return {
    name: 'trainer',
    async stop() {
      stopping = true;
      await running.stop();
      await training;
      await pool.close();
    },
    done: running.done,
  };
}
