/**
 * Predictor shell: feature vectors → predictions, with the champion of the moment (the watcher swaps it on
 * a promotion event, no restart). The stage runtime (consumers/shell/runtime.ts) writes each batch's
 * ClickHouse rows and the stations' latest forecasts (idempotent sinks) and then commits the predictions
 * with the consumed offsets in one Kafka transaction. Stateless: nothing to rebuild.
 */
import type { Prediction } from '../../lib/domain/events.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { rulesOfTheDay } from '../../lib/domain/weather/validation.ts';
import { preparedChampionOf } from '../../lib/models/champion.ts';
import { RainstreamError } from '../../lib/platform/errors.ts';
import { runStage, type RecordEffects } from '../shell/runtime.ts';
import type { RunningStage, StageDeps } from '../shell/stage.ts';
import { predictionRow } from './rows.ts';
import { latestForecastOf, predictRecordStep } from './step.ts';

export async function startPredictorStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics, champion } = deps;
  if (!champion) throw new RainstreamError('INTERNAL', 'the predictor stage needs a champion source');
  const clock = deps.clock ?? Date.now;
  const currentChampion = preparedChampionOf(champion);
  const rules = rulesOfTheDay({
    eventTime: config.eventTime,
    stations: loadStationRegistry(config.openMeteo.stationsFile),
    clock,
  });
  const predictionOf = new WeakMap<RecordEffects<never>, Prediction>();

  return runStage<'features', never>(deps, {
    name: 'predictor',
    inputTopic: config.topics.features,
    inputKind: 'features',
    step(features, _state, record) {
      const now = clock();
      const key = record.key?.toString('utf8') ?? null;
      const threshold = config.pipeline.decisionThreshold;
      const result = predictRecordStep(features, currentChampion(), threshold, now, rules(), key);
      if ('rejection' in result) return { outcome: 'invalid', rejection: result.rejection };
      const p = result.prediction;
      const effects: RecordEffects<never> = {
        outcome: 'predicted',
        outputs: [
          {
            topic: config.topics.predictions,
            message: { key: p.location, value: codec.encode('prediction', p) },
          },
        ],
        rows: [{ table: 'predictions', row: predictionRow(p, now * 1000) }],
        cache: [[redis.key(...STATE_KEYS.latest(p.location)), JSON.stringify(latestForecastOf(p))]],
      };
      predictionOf.set(effects, p);
      return effects;
    },
    committed(effects) {
      metrics.inc('predictions', undefined, effects.filter((e) => predictionOf.has(e)).length);
      for (const e of effects) {
        const p = predictionOf.get(e);
        if (p) metrics.observe('prediction_lag_ms', p.predictedAt - p.ingestedAt);
      }
    },
  });
}
