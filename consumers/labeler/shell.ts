/**
 * Label-join shell: predictions → labeled examples and actuals. The prediction of (station, D) waits in
 * Redis until the prediction of (station, D+1) brings D's label; a day whose successor never comes is
 * recorded missing once the partition's event time has passed it by the grace period.
 */
import type { Message } from '../../lib/platform/kafka/client.ts';
import type { ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq } from '../../lib/platform/kafka/dlq.ts';
import { sendBounded } from '../../lib/platform/kafka/producer.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { actualRow, labeledRow } from './rows.ts';
import {
  decodeBatch,
  loadStates,
  runKeyedStage,
  saveStates,
  type RunningStage,
  type StageDeps,
} from '../shell/stage.ts';
import {
  labelStep,
  parseJoinState,
  serializeJoinState,
  sweepExpired,
  type Actual,
  type JoinState,
} from './step.ts';
import type { LabeledExample } from '../../lib/domain/events.ts';

const BUILT = ['labeler', 'built'] as const;

export async function startLabelerStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'labeler' });
  const keyOf = (location: string) => STATE_KEYS.pendingLabel(location);
  const builtKey = redis.key(...BUILT);
  /** Stations seen per partition with their last state: what the event-time sweep looks at. */
  const known = new Map<number, Map<string, JoinState>>();
  const watermarks = new Map<number, string>();

  const handle = async (records: ConsumedRecord[], emit: boolean) => {
    const partition = records[0]!.partition;
    const { decoded, dlq } = await decodeBatch(codec, 'prediction', records);
    const locations = [...new Set(decoded.map((d) => d.event.location))];
    const states = await loadStates(redis, keyOf, locations, parseJoinState);
    let stations = known.get(partition);
    if (!stations) known.set(partition, (stations = new Map()));
    const changed = new Map<string, JoinState | null>();
    const labeled: LabeledExample[] = [];
    const actuals: Actual[] = [];
    let watermark = watermarks.get(partition) ?? '';
    const outcomes: Record<string, number> = {};
    for (const { event } of decoded) {
      const result = labelStep(states.get(event.location) ?? null, event);
      outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
      labeled.push(...result.labeled);
      actuals.push(...result.actuals);
      if (result.state !== states.get(event.location)) {
        states.set(event.location, result.state);
        changed.set(event.location, result.state);
        stations.set(event.location, result.state);
      }
      if (event.date > watermark) watermark = event.date;
    }
    watermarks.set(partition, watermark);
    for (const [outcome, n] of Object.entries(outcomes)) metrics.inc('labeler_events', { outcome }, n);
    for (const [location, state] of stations) {
      const swept = sweepExpired(state, watermark, config.pipeline.labelGraceDays);
      if (swept.state !== state) {
        actuals.push(...swept.actuals);
        stations.set(location, swept.state);
        changed.set(location, swept.state);
      }
    }
    if (emit) {
      const messages: Message[] = labeled.map((e) => ({
        key: e.location,
        value: codec.encode('labeled', e),
      }));
      await sendBounded(deps.producer, config.topics.labeled, messages);
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
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
    await saveStates(redis, keyOf, changed, serializeJoinState, [[builtKey, '1']]);
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
