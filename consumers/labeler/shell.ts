/**
 * Label-join shell: predictions → labeled examples and actuals. The prediction of (station, D) waits in
 * Redis until the prediction of (station, D+1) brings D's label; a day whose successor never comes is
 * recorded missing once the partition's event time (the second-latest station's day, so one record cannot
 * move it: step.ts) has passed it by the grace period. A prediction no stage should have made is refused
 * into the DLQ before it touches a join. The stage runtime
 * (consumers/shell/runtime.ts) writes the ClickHouse rows, commits the labeled examples with the consumed
 * offsets in one Kafka transaction, then saves the join states.
 */
import type { Prediction } from '../../lib/domain/events.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { rulesOfTheDay } from '../../lib/domain/weather/validation.ts';
import { partitionOfKey } from '../../lib/platform/kafka/producer.ts';
import { keysUnder, withRedis } from '../../lib/platform/redis.ts';
import type { BatchEnd, Row } from '../shell/runtime.ts';
import { runStage } from '../shell/runtime.ts';
import type { RunningStage, StageDeps } from '../shell/stage.ts';
import { actualRow, labeledRow } from './rows.ts';
import {
  labelRecordStep,
  parseStateId,
  partitionWatermark,
  stateIdOf,
  readJoinState,
  serializeJoinState,
  sweepExpired,
  type JoinState,
} from './step.ts';

export async function startLabelerStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, metrics, redis } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'labeler' });
  /** Per partition, the stations seen with their last saved state: what the event-time sweep looks at. */
  const known = new Map<number, Map<string, JoinState>>();
  const rules = rulesOfTheDay({
    eventTime: config.eventTime,
    stations: loadStationRegistry(config.openMeteo.stationsFile),
    clock,
  });

  /**
   * The sweep of a batch: every station of the partition, as of this batch, against the partition's
   * watermark. Computed from saved state plus this batch, and kept in memory only once the batch is done,
   * so a batch redone after a failure sweeps exactly as its first attempt did.
   */
  const endBatch = (
    partition: number,
    states: ReadonlyMap<string, JoinState | null>,
    live: boolean,
  ): BatchEnd<JoinState> => {
    const stations = new Map(known.get(partition));
    for (const [location, state] of states) if (state !== null) stations.set(location, state);
    const watermark = partitionWatermark(stations);
    const changed = new Map<string, JoinState | null>();
    const rows: Row[] = [];
    const now = clock();
    for (const [location, state] of stations) {
      try {
        const swept = sweepExpired(state, watermark, config.pipeline.labelGraceDays);
        if (swept.state === state) continue;
        stations.set(location, swept.state);
        changed.set(location, swept.state);
        for (const a of swept.actuals) rows.push({ table: 'actuals', row: actualRow(a, now, now * 1000) });
      } catch (error) {
        // Not a record of this batch: the station's pending day cannot be swept; it stays pending.
        stations.delete(location);
        if (live) {
          metrics.inc('labeler_sweep_failed');
          log.error(
            { err: error, location, partition },
            'event-time sweep failed for a station; it is left out',
          );
        }
      }
    }
    return {
      changed,
      rows,
      onDone() {
        known.set(partition, stations);
        if (live) metrics.inc('labels_missing', undefined, rows.length);
      },
    };
  };

  return runStage<'prediction', JoinState>(deps, {
    name: 'labeler',
    inputTopic: config.topics.predictions,
    inputKind: 'prediction',
    state: {
      // One join per (task, location): rain's keeps its key from before tasks.
      idOf: (p: Prediction) => stateIdOf(p.task ?? 'rain', p.location),
      keyOf: (id) => {
        const { task, location } = parseStateId(id);
        return STATE_KEYS.pendingLabelOf(task, location);
      },
      parse: (text, id) => readJoinState(text, id),
      serialize: serializeJoinState,
    },
    step(prediction, state, record) {
      const result = labelRecordStep(prediction, state, rules(), record.key?.toString('utf8') ?? null);
      if ('rejection' in result) return { outcome: 'invalid', rejection: result.rejection };
      const now = clock();
      const rows: Row[] = [
        ...result.actuals.map((a) => ({ table: 'actuals', row: actualRow(a, now, now * 1000) })),
        ...result.labeled.map((e) => ({ table: 'labeled_examples', row: labeledRow(e, now * 1000) })),
      ];
      return {
        state: result.state === state ? undefined : result.state,
        outcome: result.outcome,
        rows,
        outputs: result.labeled.map((e) => ({
          topic: config.topics.labeled,
          message: { key: e.location, value: codec.encode('labeled', e) },
        })),
      };
    },
    endBatch,
    async resumePartition(partition, { partitions, plan }) {
      known.set(partition, new Map());
      if (plan === 'rebuild') return;
      // The stations of this partition that wait for a label, as the previous owner left them: without
      // them a station whose days stopped before this restart would never be swept.
      const keys = await withRedis('listing pending labels', () =>
        keysUnder(redis, ...STATE_KEYS.pendingLabel('').slice(0, 1)),
      );
      const values =
        keys.length === 0 ? [] : await withRedis('loading pending labels', () => redis.client.mget(...keys));
      const stations = new Map<string, JoinState>();
      for (const value of values) {
        const state = value === null ? null : readJoinState(value);
        if (state === null || partitionOfKey(state.location, partitions) !== partition) continue;
        stations.set(stateIdOf(state.task ?? 'rain', state.location), state);
      }
      known.set(partition, stations);
    },
    committed(effects) {
      let joined = 0;
      let missing = 0;
      for (const e of effects) {
        joined += e.outputs?.length ?? 0;
        missing += (e.rows?.filter((r) => r.table === 'actuals').length ?? 0) - (e.outputs?.length ?? 0);
      }
      metrics.inc('labels_joined', undefined, joined);
      metrics.inc('labels_missing', undefined, missing);
    },
  });
}
