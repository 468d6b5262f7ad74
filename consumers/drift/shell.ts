/**
 * Drift shell: two consumers, one topology (consumers/drift/step.ts).
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
  return { ...e, source: e.source, late: Number(e.late), duplicates: Number(e.duplicates) };
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
  const partitionKey = (source: DriftSource, partition: number) =>
    redis.key(...STATE_KEYS.driftPartition(source, partition));
  const closerKey = redis.key(...STATE_KEYS.driftCloser());
  const pendingKey = (side: DriftSource, week: string) => redis.key(...STATE_KEYS.driftPending(side, week));
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
    const key = partitionKey(source, partition);
    const [storedOffset, storedState] = await redis.client.hmget(key, 'offset', 'state');
    const fresh = after(records, storedOffset);
    if (emit) metrics.inc('drift_batches', { source });
    // Records the stored state already reflects: delivered again after a crash, a rebalance or a seek.
    if (emit && fresh.length < records.length) {
      metrics.inc('drift_examples', { source, outcome: 'redelivered' }, records.length - fresh.length);
    }
    if (fresh.length === 0) return;
    const state = storedState === null ? initialPartitionState() : parsePartitionState(storedState);
    const batch =
      source === 'labeled'
        ? await decodeBatch(codec, 'labeled', fresh)
        : await decodeBatch(codec, 'prediction', fresh);
    const dlq: DlqEntry[] = batch.dlq;
    const events: (Prediction | LabeledExample)[] = [];
    const today = rules();
    for (const { record, event } of batch.decoded) {
      const refused = checkDriftEvent(event, today);
      if (refused === null) events.push(event);
      else
        dlq.push({ record, reason: refused.reason, field: refused.field, kind: 'invalid', stage: 'drift' });
    }
    await loadReferences(events.map((e) => e.modelVersion));
    const result = partitionStep(state, events, {
      source,
      partition,
      referenceOf,
      graceDays: settings.graceDays,
    });
    if (emit) {
      const messages: Message[] = result.partials.map((p) => ({
        key: `${p.source}|${p.partition}|${p.week}`,
        value: codec.encode('driftPartial', p),
      }));
      await sendBounded(deps.producer, config.topics.driftPartials, messages);
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
      metrics.inc('drift_examples', { source, outcome: 'counted' }, result.counted);
      metrics.inc('drift_examples', { source, outcome: 'late' }, result.late);
      metrics.inc('drift_examples', { source, outcome: 'duplicate' }, result.duplicates);
      metrics.inc('drift_examples', { source, outcome: 'no-reference' }, result.noReference);
      metrics.inc('drift_partials_sent', { source }, result.partials.length);
    }
    await writeIfNewer([key], fresh[fresh.length - 1]!.offset, serializePartitionState(result.state));
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
    const [storedOffset, storedState] = await redis.client.hmget(closerKey, 'offset', 'state');
    const fresh = after(records, storedOffset);
    if (fresh.length === 0) return;
    let state = storedState === null ? initialCloserState() : parseCloserState(storedState);
    const { decoded, dlq } = await decodeBatch(codec, 'driftPartial', fresh);
    const arrived = new Map<string, Record<string, string>>();
    let late = 0;
    for (const { event } of decoded) {
      const partial = toPartial(event);
      const received = receivePartial(state, partial);
      state = received.state;
      if (!received.accepted) {
        late++;
        continue;
      }
      const hash = pendingKey(partial.source, partial.week);
      let fields = arrived.get(hash);
      if (fields === undefined) arrived.set(hash, (fields = {}));
      fields[String(partial.partition)] = JSON.stringify(partial);
    }
    if (arrived.size > 0) {
      const multi = redis.client.multi();
      for (const [hash, fields] of arrived) multi.hset(hash, fields);
      await multi.exec();
    }
    const outputs: WeekOutput[] = [];
    const closedHashes: string[] = [];
    const all = Array.from({ length: config.topicPartitions }, (_, p) => p);
    const believedEmpty = (side: DriftSource) =>
      silentPartitions(state, side, all).some((p) => !nonEmpty.has(p));
    if (SOURCES.some(believedEmpty)) await refreshEmptyPartitions();
    for (const side of SOURCES) {
      for (const week of closableWeeks(state, side, expectedPartitions(state, side))) {
        const hash = pendingKey(side, week);
        const stored = await redis.client.hgetall(hash);
        const partials = Object.values(stored).map((text) => JSON.parse(text) as DriftPartial);
        const versions = partials.flatMap((p) => p.stations.map((s) => s.modelVersion));
        await loadReferences(versions);
        const closed = closeWeek(state, side, week, partials, referenceOf, settings);
        state = closed.state;
        outputs.push(closed.output);
        closedHashes.push(hash);
      }
    }
    if (emit) {
      await writeOutputs(outputs);
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
      metrics.inc('drift_partials', { outcome: 'late' }, late);
    }
    await writeIfNewer(
      [closerKey, ...closedHashes],
      fresh[fresh.length - 1]!.offset,
      serializeCloserState(state),
    );
  };

  const writeOutputs = async (outputs: readonly WeekOutput[]) => {
    if (outputs.length === 0) return;
    const now = clock();
    const ver = now * 1000;
    const drift = outputs.flatMap((o) => o.drift.map((r) => driftRow(r, now, ver)).filter((r) => r !== null));
    await clickhouse.insertRows('drift', drift);
    await clickhouse.insertRows(
      'drift_stations',
      outputs.flatMap((o) => o.stations.map((r) => stationRow(r, now, ver))),
    );
    await clickhouse.insertRows(
      'drift_performance',
      outputs.flatMap((o) => o.performance.map((r) => performanceRow(r, now, ver))),
    );
    await clickhouse.insertRows(
      'drift_calibration',
      outputs.flatMap((o) => o.calibration.map((r) => calibrationRow(r, now, ver))),
    );
    await clickhouse.insertRows(
      'drift_incidents',
      outputs.flatMap((o) => o.incidents.map((i) => incidentRow(i, o.week))),
    );
    const alerts: Message[] = outputs.flatMap((o) =>
      o.alerts.map((a) => ({
        key: `${a.kind}|${a.station}|${a.name}`,
        value: codec.encode('driftAlert', a),
      })),
    );
    await sendBounded(deps.producer, config.topics.driftAlerts, alerts);
    const requests: Message[] = outputs.flatMap((o) =>
      o.retrain.map((r) => ({ key: 'retrain', value: codec.encode('command', { ...r, at: clock() }) })),
    );
    await sendBounded(deps.producer, config.topics.commands, requests);
    for (const o of outputs) {
      metrics.inc('drift_weeks_closed', { side: o.side });
      metrics.inc('drift_rows', undefined, o.drift.length + o.stations.length);
      metrics.inc('drift_dropped', { outcome: 'late' }, o.late);
      metrics.inc('drift_dropped', { outcome: 'duplicate' }, o.duplicates);
      for (const a of o.alerts) {
        metrics.inc('drift_incidents', { event: a.event, kind: a.kind });
        log.warn(
          {
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
      for (const r of o.retrain) log.warn({ week: r.week, reason: r.reason }, 'retraining requested');
    }
  };

  // ---- rebuild after Redis loss, then run -------------------------------------------------------
  if ((await redis.client.exists(builtKey)) === 0) {
    const started = clock();
    let replayed = 0;
    for (const source of SOURCES) {
      const topic = topicOf[source];
      const until = await committedOffsets(deps.kafka, partitionGroup, topic);
      for (const p of until.keys()) await redis.client.del(partitionKey(source, p));
      replayed += await replayLogUntil(deps.kafka, topic, until, (r) => handlePartition(r, false), log);
    }
    const until = await committedOffsets(deps.kafka, closerGroup, config.topics.driftPartials);
    await redis.client.del(closerKey);
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
