/**
 * Trainer shell: follows the labeled topic into an in-memory history per task (rebuilt from the log at
 * every start, through a private consumer group), and at each event-time week boundary of a task trains
 * that task's candidates in its own worker, registers them, and moves the task's aliases when the gates
 * pass (lib/models/tasks.ts). Every task runs the same weekly schedule; a task's run never waits for
 * another task's. Training runs beside consumption:
 * when the stream outruns it, weeks coalesce into one pending run (the retrain-schedule step).
 *
 * - Nothing is trained before the history is rebuilt: the end offsets of the labeled topic are captured at
 *   start (consumers/shell/catch-up.ts), and the weeks closed while reading up to them wait as one pending
 *   run, started once they are read. A run never sees a partial history.
 * - Commands (the commands topic, durable group `<prefix>.trainer-commands`): an operator's "retrain now"
 *   or drift's request trains on every labeled row held, as a full refit, with the command's reason in the
 *   run's row. A command id runs once: its row in `training_runs` is the record (checked before running, so
 *   a redelivery after a crash finds it), and the command's offset is committed only after that row is
 *   written. Commands wait for the rebuilt history like the weekly runs.
 * - One training at a time per task (one worker per task): a command goes to its task's lane (the
 *   command's `task`, rain when it names none), before that lane's pending weekly run. A command for a
 *   task this deployment does not train goes to the DLQ (field `task`).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Command, LabeledExample } from '../../lib/domain/events.ts';
import type { ChampionWatcher } from '../../lib/models/champion-watcher.ts';
import { competingFamilies, taskOrDefault, type TaskDeclaration } from '../../lib/models/tasks.ts';
import type { Alias } from '../../lib/models/registry.ts';
import { codeVersion } from '../../lib/platform/code-version.ts';
import { FEATURE_NAMES } from '../../lib/domain/features/feature-set.ts';
import { runBatchConsumer, type RunningConsumer } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq, type DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { checkEventDate, rulesOfTheDay } from '../../lib/domain/weather/validation.ts';
import { describeError, isRetriable } from '../../lib/platform/errors.ts';
import { abortableSleep, retryForever } from '../../lib/platform/retry.ts';
import { TrainingPool } from '../../lib/ml/worker-pool.ts';
import { currentAlias, registerModels } from '../../lib/models/registry.ts';
import { promote } from '../../lib/models/promotion.ts';
import { addDays, mondayOf, utcDateOf } from '../../lib/domain/time.ts';
import { catchUpWith } from '../shell/catch-up.ts';
import { LabeledHistory } from './labeled-history.ts';
import { championsOf, decodeBatch, groupIdOf, type RunningStage, type StageDeps } from '../shell/stage.ts';
import {
  BOUNDARY_GRACE_DAYS,
  commandSkip,
  commandTraining,
  onChampionChanged,
  onLabeled,
  resumedScheduleState,
  takePending,
  type DueTraining,
  type RetrainScheduleState,
} from './step.ts';
import { trainingRunRow } from './rows.ts';
import { runTraining, type TrainingRunResult } from './training-run.ts';
import { commandRan, lastTrainedWeek } from '../../lib/platform/clickhouse/queries/training.ts';

/** The reason a run that threw is recorded with (its row keeps the schedule going). */
const FAILED = 'failed:';

/** How often a command's handler heartbeats while its run waits or trains. */
const COMMAND_HEARTBEAT_MS = 2_000;

function emptyResult(reason: string): TrainingRunResult {
  return {
    status: 'skipped',
    reason,
    records: [],
    decision: null,
    winnerVersion: null,
    trainRows: 0,
    validationRows: 0,
    trainStart: null,
  };
}

/**
 * A command's models get versions of their own: the week-based version of the boundary would be taken
 * again by that week's scheduled run. Short and stable (a hash of the command id), within the version
 * alphabet (letters, digits, '.', '_', ':', '-').
 */
function commandVersions(result: TrainingRunResult, commandId: string): TrainingRunResult {
  const tag = `.r${createHash('sha256').update(commandId).digest('hex').slice(0, 8)}`;
  return {
    ...result,
    records: result.records.map((r) => ({ ...r, version: `${r.version}${tag}` })),
    winnerVersion: result.winnerVersion === null ? null : `${result.winnerVersion}${tag}`,
  };
}

export async function startTrainerStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, metrics } = deps;
  const tasks = championsOf(deps);
  if (tasks.length === 0 || tasks[0]!.task.name !== 'rain')
    throw new Error('the trainer stage needs a champion source per task, rain first');
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'trainer' });
  const rules = rulesOfTheDay({
    eventTime: deps.config.eventTime,
    stations: loadStationRegistry(deps.config.openMeteo.stationsFile),
    clock: deps.clock ?? Date.now,
  });
  const version = codeVersion();
  const stopSignal = new AbortController();
  let stopping = false;
  const catchUp = await catchUpWith(deps.kafka, config.topics.labeled);

  /**
   * One task's trainer: its labeled history, its weekly schedule, its own worker (a task's run never waits
   * for another's), its champion and aliases, and the commands that name the task.
   */
  const laneOf = async (task: TaskDeclaration, champion: ChampionWatcher) => {
    const tlog = log.child({ task: task.name });
    const history = new LabeledHistory(FEATURE_NAMES, 4096, task.type);
    const pool = new TrainingPool({ size: 1 });
    // The scheduled full refits' own worker: the weekly runs do not wait for seconds of refitting.
    const refitPool = config.pipeline.retrainRefitBeside
      ? new TrainingPool({ size: 1, niceness: config.pipeline.retrainRefitNiceness || undefined })
      : undefined;
    const families = competingFamilies(task, config.pipeline.retrainFamilies);
    const resumeAfter = await lastTrainedWeek(deps.clickhouse, task.name);
    let schedule: RetrainScheduleState = resumedScheduleState(resumeAfter, champion.current().trainedUntil);
    let newestLabeled: string | null = null;
    /** The training running now (one at a time per task). */
    let current: Promise<void> | null = null;
    /** Commands waiting for their turn, first come first served. */
    const commandQueue: {
      due: () => DueTraining | null;
      command: Command;
      settle: (e?: unknown) => void;
    }[] = [];
    const busy = () => current !== null || !catchUp.isCaughtUp() || commandQueue.length > 0;

    /** Writes what a run produced; retried while ClickHouse or Kafka is away (a transient error loses nothing). */
    const record = async (due: DueTraining, result: TrainingRunResult, startedAt: number) => {
      const serving = champion.current();
      const outputs = { clickhouse: deps.clickhouse, producer: deps.producer, codec, topics: config.topics };
      const finishedAt = clock();
      const promoted = result.decision?.promote === true && result.winnerVersion !== null;
      await retryForever(
        async () => {
          if (result.records.length > 0) await registerModels(deps.clickhouse, result.records);
          if (result.winnerVersion !== null) {
            const winner = result.records.find((r) => r.version === result.winnerVersion)!;
            // The best candidate that did not pass the gates stays visible as the challenger.
            const challenger = task.challengerAlias as Alias;
            const previous = promoted
              ? serving.version
              : ((await currentAlias(deps.clickhouse, challenger))?.version ?? null);
            await promote(outputs, {
              alias: (promoted ? task.championAlias : challenger) as Alias,
              version: winner.version,
              family: winner.family,
              previousVersion: previous,
              reason: due.command ? `${due.command.reason} (${result.reason})` : result.reason,
              statusWritten: promoted,
            });
          }
          await deps.clickhouse.insertRows('training_runs', [
            trainingRunRow(due, result, startedAt, finishedAt, task.name),
          ]);
        },
        {
          shouldRetry: isRetriable,
          signal: stopSignal.signal,
          onRetry: ({ error, attempt }) => {
            if (attempt === 1 || attempt % 10 === 0)
              tlog.warn(
                { err: error, week: due.week, attempt },
                'recording the training run failed; retrying',
              );
          },
        },
      );
      if (promoted) metrics.inc('models_promoted', { task: task.name });
      metrics.inc('models_trained', { task: task.name }, result.records.length);
      const outcome = result.reason.startsWith(FAILED) ? 'failed' : result.status;
      metrics.inc('training_runs', { task: task.name, status: outcome });
      metrics.trainingRunDone(task.name, outcome, (clock() - startedAt) / 1000);
      tlog.info(
        {
          week: due.week,
          command: due.command?.id,
          coalesced: due.coalescedWeeks,
          status: result.status,
          promoted,
          winner: result.winnerVersion,
          reason: result.reason,
          seconds: (finishedAt - startedAt) / 1000,
        },
        'retraining finished',
      );
      if (promoted) schedule = onChampionChanged(schedule, due.dataUntil);
    };

    /** One run, from training to its row. A run that fails is recorded as failed: the schedule goes on. */
    const train = async (due: DueTraining): Promise<void> => {
      const startedAt = clock();
      tlog.info(
        { week: due.week, command: due.command?.id, coalesced: due.coalescedWeeks, rows: history.size },
        'retraining',
      );
      let result: TrainingRunResult;
      try {
        result = await runTraining({
          task,
          pool,
          history,
          due,
          champion: champion.current(),
          threshold: config.pipeline.decisionThreshold,
          minRows: config.pipeline.retrainMinRows,
          candidates: families,
          codeVersion: version,
          clock,
          refitEveryWeeks: config.pipeline.retrainRefitEveryWeeks,
          ...(refitPool && { refitPool }),
          ...(due.command && {
            refit: { full: true, reason: `${due.command.requestedBy}: ${due.command.reason}` },
          }),
        });
        if (due.command) result = commandVersions(result, due.command.id);
      } catch (error) {
        tlog.error({ err: error, week: due.week }, 'retraining failed; the champion stays');
        result = emptyResult(`${FAILED} ${describeError(error)}`);
      }
      await record(due, result, startedAt);
    };

    /** Starts what is due when nothing trains: a queued command first, then the pending weekly run. */
    const next = (): void => {
      if (current !== null || stopping || !catchUp.isCaughtUp()) return;
      const queued = commandQueue.shift();
      if (queued) {
        const due = queued.due();
        const { id, reason, requestedBy } = queued.command;
        // Nothing labeled yet: the command is recorded as run, with nothing trained.
        const run = due
          ? train(due)
          : record(
              {
                week: mondayOf(utcDateOf(clock())),
                coalescedWeeks: 0,
                dataUntil: utcDateOf(clock()),
                staleness: null,
                command: { id, reason, requestedBy },
              },
              emptyResult('no labeled rows yet'),
              clock(),
            );
        start(run, queued.settle);
        return;
      }
      if (!config.pipeline.retrainEnabled) return;
      const pending = takePending(schedule);
      schedule = pending.state;
      if (pending.due) start(train(pending.due));
    };

    const start = (run: Promise<void>, settle?: (e?: unknown) => void) => {
      const tracked = run.then(
        () => settle?.(),
        (error: unknown) => {
          // Only a stop ends a run without its row (the recording retries everything else).
          tlog.warn({ err: error }, 'a training run ended without its row');
          settle?.(error);
        },
      );
      current = tracked;
      void tracked.finally(() => {
        current = null;
        next();
      });
    };

    return {
      task,
      history,
      caughtUp() {
        tlog.info(
          { rows: history.size, newest: newestLabeled, pending: schedule.pending },
          'labeled history rebuilt',
        );
        next();
      },
      /** One labeled example of this task: into the history, and the schedule told. */
      add(event: LabeledExample): void {
        if (!history.add(event)) {
          metrics.inc('trainer_examples', { outcome: 'wrong-width' });
          return;
        }
        if (newestLabeled === null || event.date > newestLabeled) newestLabeled = event.date;
        if (!config.pipeline.retrainEnabled) return;
        // Partitions are read in turn: a boundary counts as crossed a couple of days late, so the
        // stragglers of the week before are in the history when its run starts.
        const step = onLabeled(schedule, addDays(event.date, -BOUNDARY_GRACE_DAYS), busy());
        schedule = step.state;
        if (step.due) start(train(step.due));
      },
      queueCommand(command: Command, settle: (e?: unknown) => void): void {
        commandQueue.push({
          command,
          due: () => commandTraining(schedule, newestLabeled, command),
          settle,
        });
        next();
      },
      async stop(): Promise<void> {
        await current;
        await Promise.all([pool.close(), refitPool?.close()]);
      },
    };
  };

  const lanes = new Map<string, Awaited<ReturnType<typeof laneOf>>>();
  for (const { task, champion } of tasks) lanes.set(task.name, await laneOf(task, champion));
  /** Commands queued or training, by id: a redelivery while one runs waits for that run. */
  const inFlight = new Map<string, Promise<void>>();

  void catchUp.caughtUp.then(() => {
    for (const lane of lanes.values()) lane.caughtUp();
  });

  const labeled = await runBatchConsumer({
    kafka: deps.kafka,
    // The history is rebuilt from the whole topic at every start, so the group is private and fresh.
    groupId: `${config.groupPrefix}.trainer-${randomUUID()}`,
    topics: [config.topics.labeled],
    fromBeginning: true,
    logger: log,
    onProgress: catchUp.onProgress,
    async handleBatch(records) {
      const startedAt = clock();
      const { decoded, dlq } = await decodeBatch(codec, 'labeled', records);
      // The drift stage reads the same topic and sends what cannot be decoded to the DLQ, once; this group
      // re-reads the topic at every start, so it counts them instead of sending them again.
      if (dlq.length > 0) metrics.inc('trainer_examples', { outcome: 'undecodable' }, dlq.length);
      const today = rules();
      for (const { event } of decoded) {
        // An example no week can hold (unknown station, a date outside the event-time range or past the
        // horizon) would move the schedule past every week up to it: the drift stage sends it to the DLQ
        // (it reads the same topic), this group counts and skips it.
        if (today.stations.check(event.location) ?? checkEventDate(event.date, today)) {
          metrics.inc('trainer_examples', { outcome: 'invalid' });
          continue;
        }
        // Each task's examples go to its own lane; a task this deployment does not run is skipped.
        const lane = lanes.get(event.task ?? 'rain');
        if (!lane) {
          metrics.inc('trainer_examples', { outcome: 'other-task' });
          continue;
        }
        lane.add(event);
      }
      metrics.batchDone('trainer', startedAt, records, clock());
    },
  });

  /** Runs a command once: after the history is rebuilt, in its turn, recorded before it counts as done. */
  const runCommand = (command: Command, lane: NonNullable<ReturnType<typeof lanes.get>>): Promise<void> => {
    const running = inFlight.get(command.id);
    if (running) return running;
    const done = (async () => {
      if (await commandRan(deps.clickhouse, command.id)) {
        metrics.inc('trainer_commands', { outcome: 'already-run' });
        return;
      }
      await new Promise<void>((resolve, reject) => {
        log.info(
          {
            command: command.id,
            task: command.task,
            requestedBy: command.requestedBy,
            reason: command.reason,
          },
          'retrain command queued',
        );
        lane.queueCommand(command, (error) => (error === undefined ? resolve() : reject(error)));
      });
      metrics.inc('trainer_commands', { outcome: 'run' });
    })();
    inFlight.set(command.id, done);
    void done.then(
      () => inFlight.delete(command.id),
      () => inFlight.delete(command.id),
    );
    return done;
  };

  let commands: RunningConsumer;
  try {
    commands = await runBatchConsumer({
      kafka: deps.kafka,
      groupId: groupIdOf(config, 'trainer-commands'),
      topics: [config.topics.commands],
      fromBeginning: true,
      logger: log.child({ part: 'commands' }),
      async handleBatch(records, context) {
        const startedAt = clock();
        const { decoded, dlq } = await decodeBatch(codec, 'command', records);
        const refused: DlqEntry[] = dlq.map((d) => ({ ...d, stage: 'trainer' }));
        for (const { record, event } of decoded) {
          const skip = commandSkip(event, () => false);
          if (skip === 'unknown-kind') {
            refused.push({
              record,
              reason: `unknown command kind ${event.kind}`,
              field: 'kind',
              kind: 'invalid',
              stage: 'trainer',
            });
            continue;
          }
          const lane = lanes.get(taskOrDefault(event.task));
          if (lane === undefined) {
            refused.push({
              record,
              reason: `task ${JSON.stringify(event.task)} is not trained here (TASKS: ${[...lanes.keys()].join(', ')})`,
              field: 'task',
              kind: 'invalid',
              stage: 'trainer',
            });
            continue;
          }
          const run = runCommand(event, lane);
          // The run may wait for the history and for a weekly run: stay in the group meanwhile.
          for (;;) {
            const finished = await Promise.race([
              run.then(() => true),
              abortableSleep(COMMAND_HEARTBEAT_MS, context.signal).then(() => false),
            ]);
            // A stop rejects the sleep: the batch is let go, and the command redelivered at the next start.
            if (finished) break;
            await context.heartbeat();
          }
        }
        await sendToDlq(deps.producer, config.topics.observationsDlq, refused);
        // Apart from the labeled batches: a command's batch lasts as long as the runs it waits for.
        metrics.batchDone('trainer-commands', startedAt, records, clock());
      },
    });
  } catch (error) {
    await labeled.stop();
    throw error;
  }

  const done = Promise.all([labeled.done, commands.done]).then(() => undefined);
  done.catch(() => undefined);
  return {
    name: 'trainer',
    async stop() {
      stopping = true;
      // Aborted first: a recording that waits for ClickHouse gives up (the run is redone at the next start).
      stopSignal.abort();
      await Promise.all([labeled.stop(), commands.stop()]);
      await Promise.all([...lanes.values()].map((lane) => lane.stop()));
    },
    done,
  };
}
