/**
 * Features stage shell: observations → feature vectors. The pure step (lib/features) does the work; this
 * shell loads the stations of a batch from Redis in one MGET, produces the vectors, saves the states in
 * one MULTI, and only then lets the consumer commit. On a Redis that lost its state (restart, flush) it
 * first rebuilds the stations from the observations log up to the committed offsets, silently.
 */
import { featuresStep, type StationState } from '../../lib/domain/features/station-window.ts';
import type { FeatureVector, Observation } from '../../lib/domain/events.ts';
import type { Message } from '../../lib/platform/kafka/client.ts';
import type { ConsumedRecord } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq } from '../../lib/platform/kafka/dlq.ts';
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

export function parseStationState(text: string): StationState | null {
  // A state written by an incompatible build is dropped rather than misread: the window refills in a week.
  const s = JSON.parse(text) as Partial<StationState> | null;
  return s && s.v === 1 && typeof s.location === 'string' && Array.isArray(s.days)
    ? (s as StationState)
    : null;
}

interface BatchResult {
  messages: Message[];
  states: Map<string, StationState | null>;
}

/** Runs the step over a partition's records in order; pure apart from reading the loaded states. */
function stepBatch(
  decoded: { record: ConsumedRecord; event: Observation }[],
  states: Map<string, StationState | null>,
  encode: ((fv: FeatureVector) => Buffer) | null,
  outcomes: Record<string, number>,
): BatchResult {
  const messages: Message[] = [];
  const changed = new Map<string, StationState | null>();
  for (const { record, event } of decoded) {
    const result = featuresStep(states.get(event.location) ?? null, event, record.timestamp);
    outcomes[result.outcome] = (outcomes[result.outcome] ?? 0) + 1;
    if (result.state !== states.get(event.location)) {
      states.set(event.location, result.state);
      changed.set(event.location, result.state);
    }
    if (result.output && encode) messages.push({ key: event.location, value: encode(result.output) });
  }
  return { messages, states: changed };
}

export async function startFeaturesStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics } = deps;
  const log = deps.logger.child({ stage: 'features' });
  const stationKey = (location: string) => STATE_KEYS.station(location);
  const builtKey = redis.key(...STATE_KEYS.featuresBuilt());

  const handle = async (records: ConsumedRecord[], emit: boolean) => {
    const { decoded, dlq } = await decodeBatch(codec, 'observation', records);
    const locations = [...new Set(decoded.map((d) => d.event.location))];
    const states = await loadStates(redis, stationKey, locations, parseStationState);
    const encode = emit ? (fv: FeatureVector) => codec.encode('features', fv) : null;
    const outcomes: Record<string, number> = {};
    const result = stepBatch(decoded, states, encode, outcomes);
    if (emit) {
      for (const [outcome, n] of Object.entries(outcomes)) metrics.inc('features_events', { outcome }, n);
      await sendBounded(deps.producer, config.topics.features, result.messages);
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
      metrics.inc('features_dlq', undefined, dlq.length);
    }
    await saveStates(redis, stationKey, result.states, JSON.stringify, [[builtKey, '1']]);
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
