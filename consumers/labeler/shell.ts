/**
 * Label-join shell: predictions → labeled examples and actuals. The prediction of (station, D) waits in
 * Redis until the prediction of (station, D+1) brings D's label; a day whose successor never comes is
 * recorded missing once the partition's event time has passed it by the grace period.
 */
import type { Message } from '../../lib/platform/kafka/client.ts';
import type { ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq, type DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import { sendBounded } from '../../lib/platform/kafka/producer.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { observationRules } from '../../lib/domain/weather/validation.ts';
import { actualRow, labeledRow } from './rows.ts';
import {
  decodeBatch,
  loadStates,
  runKeyedStage,
  saveStates,
  type RunningStage,
  type StageDeps,
} from '../shell/stage.ts';
import { labelBatchStep, readJoinState, serializeJoinState, type JoinState } from './step.ts';

const BUILT = ['labeler', 'built'] as const;

export async function startLabelerStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'labeler' });
  const keyOf = (location: string) => STATE_KEYS.pendingLabel(location);
  const builtKey = redis.key(...BUILT);
  /** Stations seen per partition with their last state: what the event-time sweep looks at. */
  const known = new Map<number, Map<string, JoinState>>();
  const stations = loadStationRegistry(config.openMeteo.stationsFile);

  const handle = async (records: ConsumedRecord[], emit: boolean) => {
    const partition = records[0]!.partition;
    const { decoded, dlq } = await decodeBatch(codec, 'prediction', records);
    const locations = [...new Set(decoded.map((d) => d.event.location))];
    const states = await loadStates(redis, keyOf, locations, readJoinState);
    let partitionStations = known.get(partition);
    if (!partitionStations) known.set(partition, (partitionStations = new Map()));
    const result = labelBatchStep(
      decoded.map((d) => ({ event: d.event, key: d.record.key?.toString('utf8') ?? null })),
      states,
      partitionStations,
      config.pipeline.labelGraceDays,
      observationRules({ eventTime: config.eventTime, stations, now: clock() }),
    );
    const { labeled, actuals } = result;
    if (emit) {
      for (const [outcome, n] of Object.entries(result.outcomes))
        metrics.inc('labeler_events', { outcome }, n);
      for (const r of result.rejected) metrics.inc('rejected_events', { stage: 'labeler', kind: r.kind });
      const rejected: DlqEntry[] = result.rejected.map((r) => ({
        record: decoded[r.at]!.record,
        reason: r.reason,
        field: r.field,
        kind: r.kind,
        stage: 'labeler',
      }));
      const messages: Message[] = labeled.map((e) => ({
        key: e.location,
        value: codec.encode('labeled', e),
      }));
      await sendBounded(deps.producer, config.topics.labeled, messages);
      await sendToDlq(deps.producer, config.topics.observationsDlq, [...dlq, ...rejected]);
      const now = clock();
      const ver = now * 1000;
      await deps.clickhouse.insertRows(
        'actuals',
        actuals.map((a) => actualRow(a, now, ver)),
      );
      await deps.clickhouse.insertRows(
        'labeled_examples',
        labeled.map((e) => labeledRow(e, ver)),
      );
      metrics.inc('labels_joined', undefined, labeled.length);
      metrics.inc('labels_missing', undefined, actuals.length - labeled.length);
    }
    await saveStates(redis, keyOf, result.changed, serializeJoinState, [[builtKey, '1']]);
  };

  return runKeyedStage({
    deps,
    name: 'labeler',
    inputTopic: config.topics.predictions,
    builtKey,
    handle,
    logger: log,
  });
}
