/**
 * Features stage shell: observations → feature vectors. The pure step (./step.ts) does the work; this
 * shell loads the stations of a batch from Redis in one MGET, produces the vectors, saves the states in
 * one MULTI, and only then lets the consumer commit. On a Redis that lost its state (restart, flush) it
 * first rebuilds the stations from the observations log up to the committed offsets, silently.
 */
import { parseStationState } from '../../lib/domain/features/station-window.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { observationRules } from '../../lib/domain/weather/validation.ts';
import type { ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq, type DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import { sendBounded } from '../../lib/platform/kafka/producer.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import {
  decodeBatch,
  loadStates,
  runKeyedStage,
  saveStates,
  type RunningStage,
  type StageDeps,
} from '../shell/stage.ts';
import { featuresBatchStep } from './step.ts';

export async function startFeaturesStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics } = deps;
  const log = deps.logger.child({ stage: 'features' });
  const stationKey = (location: string) => STATE_KEYS.station(location);
  const builtKey = redis.key(...STATE_KEYS.featuresBuilt());
  const stations = loadStationRegistry(config.openMeteo.stationsFile);
  const clock = deps.clock ?? Date.now;

  const handle = async (records: ConsumedRecord[], emit: boolean) => {
    const { decoded, dlq } = await decodeBatch(codec, 'observation', records);
    const locations = [...new Set(decoded.map((d) => d.event.location))];
    const states = await loadStates(redis, stationKey, locations, parseStationState);
    const result = featuresBatchStep(
      decoded.map((d) => ({
        event: d.event,
        ingestedAt: d.record.timestamp,
        key: d.record.key?.toString('utf8') ?? null,
      })),
      states,
      observationRules({ eventTime: config.eventTime, stations, now: clock() }),
    );
    if (emit) {
      for (const [outcome, n] of Object.entries(result.outcomes))
        metrics.inc('features_events', { outcome }, n);
      const rejected: DlqEntry[] = result.rejected.map((r) => ({
        record: decoded[r.at]!.record,
        reason: r.reason,
        field: r.field,
        kind: r.kind,
        stage: 'features',
        conflicting: r.conflicting,
      }));
      for (const r of result.rejected) metrics.inc('rejected_events', { stage: 'features', kind: r.kind });
      dlq.push(...rejected);
      const messages = result.outputs.map((fv) => ({
        key: fv.location,
        value: codec.encode('features', fv),
      }));
      await sendBounded(deps.producer, config.topics.features, messages);
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
      metrics.inc('features_dlq', undefined, dlq.length);
    }
    await saveStates(redis, stationKey, result.changed, JSON.stringify, [[builtKey, '1']]);
  };

  return runKeyedStage({
    deps,
    name: 'features',
    inputTopic: config.topics.observations,
    builtKey,
    handle,
    logger: log,
  });
}
