/**
 * Features stage shell: observations → feature vectors. The pure step (./step.ts) does the work on each
 * observation with its station's window (Redis); the stage runtime (consumers/shell/runtime.ts) does the
 * rest: decoding, per-record isolation, the DLQ records of what the step refuses, the transaction that
 * commits the vectors with the consumed offsets, the window written after it, and the rebuild of the
 * windows from the log when Redis lost them.
 */
import type { Observation } from '../../lib/domain/events.ts';
import { parseStationState, type StationState } from '../../lib/domain/features/station-window.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { rulesOfTheDay } from '../../lib/domain/weather/validation.ts';
import { runStage } from '../shell/runtime.ts';
import type { RunningStage, StageDeps } from '../shell/stage.ts';
import { featuresRecordStep } from './step.ts';

export async function startFeaturesStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec } = deps;
  const rules = rulesOfTheDay({
    eventTime: config.eventTime,
    stations: loadStationRegistry(config.openMeteo.stationsFile),
    clock: deps.clock ?? Date.now,
  });
  return runStage<'observation', StationState>(deps, {
    name: 'features',
    inputTopic: config.topics.observations,
    inputKind: 'observation',
    state: {
      idOf: (o: Observation) => o.location,
      keyOf: (location) => STATE_KEYS.station(location),
      parse: (text, location) => parseStationState(text, location),
      serialize: (state) => JSON.stringify(state),
    },
    step(observation, state, record) {
      const key = record.key?.toString('utf8') ?? null;
      const result = featuresRecordStep(observation, state, record.timestamp, rules(), key);
      return {
        state: result.state === state ? undefined : result.state,
        outcome: result.outcome,
        rejection: result.rejection,
        outputs: result.output
          ? [
              {
                topic: config.topics.features,
                message: { key: result.output.location, value: codec.encode('features', result.output) },
              },
            ]
          : [],
      };
    },
  });
}
