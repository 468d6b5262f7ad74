/**
 * Drift shell: two consumers, one topology (consumers/drift/step.ts) per configured task. Each task's
 * champion is watched against its own reference: its own partition states, closer state, weeks, rows
 * (the task column of every drift table), incidents, alerts and retraining requests. Rain's Redis keys
 * are those from before tasks.
 *
 * - Partition consumer (group `<prefix>.drift`): predictions and labeled examples. The state of each
 *   (topic, partition) is its own Redis hash, written with the offset it reflects and only over an older
 *   offset (a Lua compare-and-set), so two instances, or a zombie after a rebalance, cannot overwrite each
 *   other; records at or below the stored offset were already applied and are skipped. The partials of
 *   the weeks a batch closed go to the partials topic before the state is saved.
 * - Week closer (group `<prefix>.drift-closer`): the partials topic, one partition, so one instance at a
 *   time. Partials wait in Redis hashes (one per side and week) until every partition of their side has
 *   closed the week (a partition that never held an observation excepted); then the week closes: ClickHouse rows, incident events on the alerts topic, retrain
 *   requests on the commands topic, then the closer state (same compare-and-set) and the hashes go.
 *
 * After Redis loss (the `drift:built` key is gone) both states are rebuilt from the log, up to the groups'
 * committed offsets, emitting nothing: the input topics for the partitions, then the partials topic for
 * the closer. A crash between the outputs and the state write repeats the outputs: ClickHouse rows are
 * keyed upserts and incident events carry deterministic ids.
 */
import type { Message } from '../../lib/platform/kafka/client.ts';
import type { ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { runBatchConsumer } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq } from '../../lib/platform/kafka/dlq.ts';
import { sendBounded } from '../../lib/platform/kafka/producer.ts';
import { RainstreamError } from '../../lib/platform/errors.ts';
import { parseDriftReference, type DriftReference } from '../../lib/ml/reference.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { rulesOfTheDay } from '../../lib/domain/weather/validation.ts';
import type { DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import type { DriftPartialEvent, LabeledExample, Prediction } from '../../lib/domain/events.ts';
import { referencesOf } from '../../lib/platform/clickhouse/queries/models.ts';
import { taskByName, taskOrDefault } from '../../lib/models/tasks.ts';
import { decodeBatch, groupIdOf, type RunningStage, type StageDeps } from '../shell/stage.ts';
import {
  closableWeeks,
  closeWeek,
  DEFAULT_DRIFT_SETTINGS,
  initialCloserState,
  initialPartitionState,
  parseCloserState,
  parsePartitionState,
  checkDriftEvent,
  partitionStep,
  receivePartial,
  serializeCloserState,
  serializePartitionState,
  silentPartitions,
  SOURCES,
  type CloserState,
  type DriftPartial,
  type DriftSettings,
  type DriftSource,
  type DriftTask,
  type WeekOutput,
} from './step.ts';
import { calibrationRow, driftRow, incidentRow, performanceRow, stationRow } from './rows.ts';
import { committedOffsets, replayLogUntil } from '../shell/log-replay.ts';

/**
 * Writes hash KEYS[1] = {offset, state} only when its stored offset is older than ARGV[1]; deletes
 * KEYS[2..] in the same step. Returns 1 when written, 0 when a newer state was already there.
 */
/** The records after `after` (offsets ascend within a batch: most batches are fresh from their first record). */
function after(records: ConsumedRecord[], offset: string | null): ConsumedRecord[] {
  if (offset === null || records.length === 0) return records;
  const stored = BigInt(offset);
  if (BigInt(records[0]!.offset) > stored) return records;
  return records.filter((r) => BigInt(r.offset) > stored);
}

const WRITE_IF_NEWER = `
local stored = redis.call('HGET', KEYS[1], 'offset')
if stored and tonumber(stored) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'offset', ARGV[1], 'state', ARGV[2])
for i = 2, #KEYS do redis.call('DEL', KEYS[i]) end
return 1`;

export function driftSettingsOf(config: StageDeps['config']): DriftSettings {
  const d = config.pipeline.drift;
  return {
    ...DEFAULT_DRIFT_SETTINGS,
    graceDays: d.graceDays,
    incidents: { resolveAfterWeeks: d.resolveAfterWeeks, cooldownWeeks: d.cooldownWeeks },
    retrain: { ...d.retrain },
  };
}

function toPartial(e: DriftPartialEvent): DriftPartial {
  if (e.source !== 'predictions' && e.source !== 'labeled') {
    throw new RainstreamError('VALIDATION', `drift partial of unknown source ${JSON.stringify(e.source)}`);
  }
  return {
    ...e,
    task: taskOrDefault(e.task),
    source: e.source,
    late: Number(e.late),
    duplicates: Number(e.duplicates),
  };
}

/** The oldest of the tasks' stored offsets; null when a task has none (every record is fresh for it). */
function oldestOffset(offsets: readonly (string | null)[]): string | null {
  let oldest: bigint | null = null;
  for (const o of offsets) {
    if (o === null) return null;
    const v = BigInt(o);
    if (oldest === null || v < oldest) oldest = v;
  }
  return oldest === null ? null : oldest.toString();
}

export async function startDriftStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics, clickhouse } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'drift' });
  const settings = driftSettingsOf(config);
  const rules = rulesOfTheDay({
    eventTime: config.eventTime,
    stations: loadStationRegistry(config.openMeteo.stationsFile),
    clock,
  });
  const topicOf: Record<DriftSource, string> = {
    predictions: config.topics.predictions,
    labeled: config.topics.labeled,
  };
  const sourceOf = (topic: string): DriftSource =>
    topic === config.topics.labeled ? 'labeled' : 'predictions';
  // One topology per configured task: each task's champion has its own reference, weeks and incidents.
  const tasks: DriftTask[] = config.pipeline.tasks.map((name) => {
    const t = taskByName(name);
    return { name: t.name, type: t.type };
  });
  const partitionKey = (task: string, source: DriftSource, partition: number) =>
    redis.key(...STATE_KEYS.driftPartition(task, source, partition));
  const closerKey = (task: string) => redis.key(...STATE_KEYS.driftCloser(task));
  const pendingKey = (task: string, side: DriftSource, week: string) =>
    redis.key(...STATE_KEYS.driftPending(task, side, week));
  const builtKey = redis.key(...STATE_KEYS.driftBuilt());
  const partitionGroup = groupIdOf(config, 'drift');
  const closerGroup = groupIdOf(config, 'drift-closer');

  const references = new Map<string, DriftReference | undefined>();
  const loadReferences = async (versions: Iterable<string>) => {
    const missing = [...new Set(versions)].filter((v) => !references.has(v));
    if (missing.length === 0) return;
    const rows = await referencesOf(clickhouse, missing);
    const found = new Map(rows.map((r) => [r.version, r.reference]));
    for (const v of missing) {
      const text = found.get(v);
      let reference: DriftReference | undefined;
      if (text !== undefined) {
        const json = JSON.parse(text) as unknown;
        try {
          reference = json === null ? undefined : parseDriftReference(json);
        } catch (error) {
          // A reference of an older format (v1) is no reference: the model's weeks get performance only.
          log.warn({ version: v, err: error }, 'drift reference not usable');
        }
      }
      // Remembered either way: the prior (climatology) has no registry row, and asking ClickHouse again
      // for it with every batch cost the pipeline more than the drift statistics did. A trained model is
      // registered before it is promoted, so its row exists before any prediction carries its version.
      references.set(v, reference);
    }
  };
  const referenceOf = (version: string) => references.get(version);

  const writeIfNewer = (keys: string[], offset: string, state: string) =>
    redis.client.eval(WRITE_IF_NEWER, keys.length, ...keys, offset, state) as Promise<number>;

  // ---- partitions -------------------------------------------------------------------------------
  const handlePartition = async (records: ConsumedRecord[], emit: boolean) => {
    const { topic, partition } = records[0]!;
    const source = sourceOf(topic);
    const keys = tasks.map((t) => partitionKey(t.name, source, partition));
    const stored = await Promise.all(keys.map((k) => redis.client.hmget(k, 'offset', 'state')));
    // Each task's state has its own offset (a crash may fall between two tasks' writes): the records after
    // the oldest of them are read, and each task takes those after its own.
    const fresh = after(records, oldestOffset(stored.map(([offset]) => offset)));
    if (emit) metrics.inc('drift_batches', { source });
    // Records every task's stored state already reflects: delivered again after a crash, a rebalance or a seek.
    if (emit && fresh.length < records.length) {
      metrics.inc('drift_examples', { source, outcome: 'redelivered' }, records.length - fresh.length);
    }
    if (fresh.length === 0) return;
    const batch =
      source === 'labeled'
        ? await decodeBatch(codec, 'labeled', fresh)
        : await decodeBatch(codec, 'prediction', fresh);
    const dlq: DlqEntry[] = batch.dlq;
    const eventsOf = new Map<string, { offset: bigint; event: Prediction | LabeledExample }[]>(
      tasks.map((t) => [t.name, []]),
    );
    const today = rules();
    for (const { record, event } of batch.decoded) {
      const list = eventsOf.get(taskOrDefault(event.task));
      // A task this deployment does not run (TASKS) has no champion to watch here.
      if (list === undefined) {
        if (emit) metrics.inc('drift_examples', { source, outcome: 'other-task' });
        continue;
      }
      const refused = checkDriftEvent(event, today);
      if (refused === null) list.push({ offset: BigInt(record.offset), event });
      else
        dlq.push({ record, reason: refused.reason, field: refused.field, kind: 'invalid', stage: 'drift' });
    }
    const partials: DriftPartial[] = [];
    const states: string[] = [];
    for (const [i, task] of tasks.entries()) {
      const [storedOffset, storedState] = stored[i]!;
      const since = storedOffset === null ? -1n : BigInt(storedOffset);
      const events = eventsOf.get(task.name)!.flatMap((e) => (e.offset > since ? [e.event] : []));
      const state = storedState === null ? initialPartitionState() : parsePartitionState(storedState);
      await loadReferences(events.map((e) => e.modelVersion));
      const result = partitionStep(state, events, {
        task,
        source,
        partition,
        referenceOf,
        graceDays: settings.graceDays,
      });
      partials.push(...result.partials);
      states.push(serializePartitionState(result.state));
      if (emit) {
        metrics.inc('drift_examples', { source, outcome: 'counted' }, result.counted);
        metrics.inc('drift_examples', { source, outcome: 'late' }, result.late);
        metrics.inc('drift_examples', { source, outcome: 'duplicate' }, result.duplicates);
        metrics.inc('drift_examples', { source, outcome: 'no-reference' }, result.noReference);
      }
    }
    if (emit) {
      const messages: Message[] = partials.map((p) => ({
        key: `${p.task}|${p.source}|${p.partition}|${p.week}`,
        value: codec.encode('driftPartial', p),
      }));
      await sendBounded(deps.producer, config.topics.driftPartials, messages);
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
      metrics.inc('drift_partials_sent', { source }, partials.length);
    }
    const last = fresh[fresh.length - 1]!.offset;
    for (const [i, key] of keys.entries()) await writeIfNewer([key], last, states[i]!);
  };

  // ---- closer -----------------------------------------------------------------------------------
  /** Partitions seen holding observations: once non-empty, always so, never asked about again. */
  const nonEmpty = new Set<number>();
  /**
   * Partitions that have never held an observation do not hold weeks back. The observations topic is the
   * one asked, not predictions or labeled: those are written by stages that may be weeks behind on one
   * partition while ahead on another, whereas observations are produced in date order (the replay, the
   * live ingestion), so once the other partitions have closed week W, every observation of W is in the
   * log and a partition still empty there has none. Every topic is keyed by station with the same
   * partition count, so partition p of predictions and labeled holds what partition p of observations
   * does. Asked afresh before every closing that relies on a partition being empty.
   */
  const refreshEmptyPartitions = async () => {
    const admin = deps.kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchTopicOffsets(config.topics.observations);
      for (const o of offsets) if (BigInt(o.high) > 0n) nonEmpty.add(o.partition);
    } finally {
      await admin.disconnect();
    }
  };
  const expectedPartitions = (state: CloserState, side: DriftSource) => {
    const all = Array.from({ length: config.topicPartitions }, (_, p) => p);
    // A partition that reported is expected even if it looked empty before.
    return all.filter((p) => nonEmpty.has(p) || state.reported[side][String(p)] !== undefined);
  };

  const handleCloser = async (records: ConsumedRecord[], emit: boolean) => {
    const keys = tasks.map((t) => closerKey(t.name));
    const stored = await Promise.all(keys.map((k) => redis.client.hmget(k, 'offset', 'state')));
    const fresh = after(records, oldestOffset(stored.map(([offset]) => offset)));
    if (fresh.length === 0) return;
    const { decoded, dlq } = await decodeBatch(codec, 'driftPartial', fresh);
    const partialsOf = new Map<string, { offset: bigint; partial: DriftPartial }[]>(
      tasks.map((t) => [t.name, []]),
    );
    let late = 0;
    let otherTask = 0;
    for (const { record, event } of decoded) {
      const list = partialsOf.get(taskOrDefault(event.task));
      if (list === undefined) otherTask++;
      else list.push({ offset: BigInt(record.offset), partial: toPartial(event) });
    }
    const outputs: WeekOutput[] = [];
    const closedHashes: string[][] = [];
    const states: CloserState[] = [];
    const all = Array.from({ length: config.topicPartitions }, (_, p) => p);
    for (const [i, task] of tasks.entries()) {
      const [storedOffset, storedState] = stored[i]!;
      const since = storedOffset === null ? -1n : BigInt(storedOffset);
      let state = storedState === null ? initialCloserState() : parseCloserState(storedState);
      const arrived = new Map<string, Record<string, string>>();
      for (const { offset, partial } of partialsOf.get(task.name)!) {
        if (offset <= since) continue;
        const received = receivePartial(state, partial);
        state = received.state;
        if (!received.accepted) {
          late++;
          continue;
        }
        const hash = pendingKey(task.name, partial.source, partial.week);
        let fields = arrived.get(hash);
        if (fields === undefined) arrived.set(hash, (fields = {}));
        fields[String(partial.partition)] = JSON.stringify(partial);
      }
      if (arrived.size > 0) {
        const multi = redis.client.multi();
        for (const [hash, fields] of arrived) multi.hset(hash, fields);
        await multi.exec();
      }
      const closed: string[] = [];
      const believedEmpty = (side: DriftSource) =>
        silentPartitions(state, side, all).some((p) => !nonEmpty.has(p));
      if (SOURCES.some(believedEmpty)) await refreshEmptyPartitions();
      for (const side of SOURCES) {
        for (const week of closableWeeks(state, side, expectedPartitions(state, side))) {
          const hash = pendingKey(task.name, side, week);
          const pending = await redis.client.hgetall(hash);
          const partials = Object.values(pending).map((text) => JSON.parse(text) as DriftPartial);
          const versions = partials.flatMap((p) => p.stations.map((s) => s.modelVersion));
          await loadReferences(versions);
          const week_ = closeWeek(state, side, week, partials, referenceOf, settings, task);
          state = week_.state;
          outputs.push(week_.output);
          closed.push(hash);
        }
      }
      states.push(state);
      closedHashes.push(closed);
    }
    if (emit) {
      await writeOutputs(outputs);
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
      metrics.inc('drift_partials', { outcome: 'late' }, late);
      if (otherTask > 0) metrics.inc('drift_partials', { outcome: 'other-task' }, otherTask);
    }
    const last = fresh[fresh.length - 1]!.offset;
    for (const [i, key] of keys.entries()) {
      await writeIfNewer([key, ...closedHashes[i]!], last, serializeCloserState(states[i]!));
    }
  };

  const writeOutputs = async (outputs: readonly WeekOutput[]) => {
    if (outputs.length === 0) return;
    const now = clock();
    const ver = now * 1000;
    const drift = outputs.flatMap((o) =>
      o.drift.map((r) => driftRow(o.task, r, now, ver)).filter((r) => r !== null),
    );
    await clickhouse.insertRows('drift', drift);
    await clickhouse.insertRows(
      'drift_stations',
      outputs.flatMap((o) => o.stations.map((r) => stationRow(o.task, r, now, ver))),
    );
    await clickhouse.insertRows(
      'drift_performance',
      outputs.flatMap((o) => o.performance.map((r) => performanceRow(o.task, r, now, ver))),
    );
    await clickhouse.insertRows(
      'drift_calibration',
      outputs.flatMap((o) => o.calibration.map((r) => calibrationRow(o.task, r, now, ver))),
    );
    await clickhouse.insertRows(
      'drift_incidents',
      outputs.flatMap((o) => o.incidents.map((i) => incidentRow(o.task, i, o.week))),
    );
    const alerts: Message[] = outputs.flatMap((o) =>
      o.alerts.map((a) => ({
        key: `${a.task}|${a.kind}|${a.station}|${a.name}`,
        value: codec.encode('driftAlert', a),
      })),
    );
    await sendBounded(deps.producer, config.topics.driftAlerts, alerts);
    const requests: Message[] = outputs.flatMap((o) =>
      o.retrain.map((r) => ({ key: 'retrain', value: codec.encode('command', { ...r, at: clock() }) })),
    );
    await sendBounded(deps.producer, config.topics.commands, requests);
    for (const o of outputs) {
      metrics.inc('drift_weeks_closed', { side: o.side, task: o.task });
      metrics.inc('drift_rows', undefined, o.drift.length + o.stations.length);
      metrics.inc('drift_dropped', { outcome: 'late' }, o.late);
      metrics.inc('drift_dropped', { outcome: 'duplicate' }, o.duplicates);
      for (const a of o.alerts) {
        metrics.inc('drift_incidents', { event: a.event, kind: a.kind });
        log.warn(
          {
            task: a.task,
            week: a.week,
            event: a.event,
            kind: a.kind,
            station: a.station,
            feature: a.name,
            value: a.value,
            threshold: a.threshold,
          },
          `drift incident ${a.event}`,
        );
      }
      for (const r of o.retrain) {
        log.warn({ task: r.task, week: r.week, reason: r.reason }, 'retraining requested');
      }
    }
  };

  // ---- rebuild after Redis loss, then run -------------------------------------------------------
  if ((await redis.client.exists(builtKey)) === 0) {
    const started = clock();
    let replayed = 0;
    for (const source of SOURCES) {
      const topic = topicOf[source];
      const until = await committedOffsets(deps.kafka, partitionGroup, topic);
      for (const p of until.keys()) {
        for (const t of tasks) await redis.client.del(partitionKey(t.name, source, p));
      }
      replayed += await replayLogUntil(deps.kafka, topic, until, (r) => handlePartition(r, false), log);
    }
    const until = await committedOffsets(deps.kafka, closerGroup, config.topics.driftPartials);
    for (const t of tasks) await redis.client.del(closerKey(t.name));
    replayed += await replayLogUntil(
      deps.kafka,
      config.topics.driftPartials,
      until,
      (r) => handleCloser(r, false),
      log,
    );
    if (replayed > 0) log.warn({ replayed, ms: clock() - started }, 'drift state rebuilt from the log');
    await redis.client.set(builtKey, '1');
  }

  const partitions = await runBatchConsumer({
    kafka: deps.kafka,
    groupId: partitionGroup,
    topics: [config.topics.predictions, config.topics.labeled],
    fromBeginning: true,
    logger: log,
    partitionsConsumedConcurrently: 3,
    handleBatch: async (records) => {
      const startedAt = clock();
      await handlePartition(records, true);
      metrics.batchDone('drift', startedAt, records, clock());
    },
  });
  let closer;
  try {
    closer = await runBatchConsumer({
      kafka: deps.kafka,
      groupId: closerGroup,
      topics: [config.topics.driftPartials],
      fromBeginning: true,
      logger: log.child({ part: 'closer' }),
      handleBatch: async (records) => {
        const startedAt = clock();
        await handleCloser(records, true);
        metrics.batchDone('drift-closer', startedAt, records, clock());
      },
    });
  } catch (error) {
    await partitions.stop();
    throw error;
  }
  const running = closer;
  const done = Promise.all([partitions.done, running.done]).then(() => undefined);
  done.catch(() => undefined);
  return {
    name: 'drift',
    async stop() {
      await partitions.stop();
      await running.stop();
    },
    done,
  };
}
