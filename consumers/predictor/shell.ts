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
import { championsOf, type RunningStage, type StageDeps } from '../shell/stage.ts';
import { predictionRow } from './rows.ts';
import { latestForecastOf, latestValueForecastOf, predictTasksStep } from './step.ts';

export async function startPredictorStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics } = deps;
  const tasks = championsOf(deps);
  if (tasks.length === 0 || tasks[0]!.task.name !== 'rain')
    throw new RainstreamError('INTERNAL', 'the predictor stage needs a champion source per task, rain first');
  const clock = deps.clock ?? Date.now;
  const currentChampions = tasks.map(({ champion }) => preparedChampionOf(champion));
  const unitOf = new Map(tasks.map(({ task }) => [task.name as string, task.target.unit]));
  const rules = rulesOfTheDay({
    eventTime: config.eventTime,
    stations: loadStationRegistry(config.openMeteo.stationsFile),
    clock,
  });
  const predictionOf = new WeakMap<RecordEffects<never>, Prediction[]>();

  return runStage<'features', never>(deps, {
    name: 'predictor',
    inputTopic: config.topics.features,
    inputKind: 'features',
    step(features, _state, record) {
      const now = clock();
      const key = record.key?.toString('utf8') ?? null;
      const threshold = config.pipeline.decisionThreshold;
      const champions = currentChampions.map((current) => current());
      const result = predictTasksStep(features, champions, threshold, now, rules(), key);
      if ('rejection' in result) return { outcome: 'invalid', rejection: result.rejection };
      // One prediction per task, in task order on the same key: the label join sees each task's days in order.
      const predictions = result.predictions;
      const effects: RecordEffects<never> = {
        outcome: 'predicted',
        outputs: predictions.map((p) => ({
          topic: config.topics.predictions,
          message: { key: p.location, value: codec.encode('prediction', p) },
        })),
        rows: predictions.map((p) => ({ table: 'predictions', row: predictionRow(p, now * 1000) })),
        cache: predictions.map((p): [string, string] =>
          p.task === 'rain'
            ? [redis.key(...STATE_KEYS.latest(p.location)), JSON.stringify(latestForecastOf(p))]
            : [
                redis.key(...STATE_KEYS.latestOf(p.task, p.location)),
                JSON.stringify(latestValueForecastOf(p, unitOf.get(p.task) ?? '')),
              ],
        ),
      };
      predictionOf.set(effects, predictions);
      return effects;
    },
    committed(effects) {
      for (const e of effects) {
        const predictions = predictionOf.get(e);
        if (!predictions) continue;
        // `predictions` counts observations predicted (rain's, as before tasks); per task beside it.
        metrics.inc('predictions');
        for (const p of predictions) metrics.inc('task_predictions', { task: p.task });
        const p = predictions[0]!;
        metrics.observe('prediction_lag_ms', p.predictedAt - p.ingestedAt);
      }
    },
  });
}
