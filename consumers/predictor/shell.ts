/**
 * Predictor shell: feature vectors → predictions, with the champion of the moment (the watcher swaps it on
 * a promotion event, no restart). Per batch: one produce, one ClickHouse insert, one Redis pipeline of the
 * stations' latest forecasts; then the commit.
 */
import type { Prediction } from '../../lib/domain/events.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { preparedChampionOf } from '../../lib/models/champion.ts';
import type { Message } from '../../lib/platform/kafka/client.ts';
import { runBatchConsumer } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq, type DlqEntry } from '../../lib/platform/kafka/dlq.ts';
import { sendBounded } from '../../lib/platform/kafka/producer.ts';
import {
  decodeBatch,
  groupIdOf,
  PARTITIONS_IN_FLIGHT,
  type RunningStage,
  type StageDeps,
} from '../shell/stage.ts';
import { predictionRow } from './rows.ts';
import { latestForecastOf, PredictError, predictStep } from './step.ts';

export async function startPredictorStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics, champion } = deps;
  if (!champion) throw new Error('the predictor stage needs a champion source');
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'predictor' });
  const currentChampion = preparedChampionOf(champion);

  const running = await runBatchConsumer({
    kafka: deps.kafka,
    groupId: groupIdOf(config, 'predictor'),
    topics: [config.topics.features],
    fromBeginning: true,
    logger: log,
    // Stations of different partitions never share state, so partitions may be handled side by side:
    // one waits on Kafka acks or ClickHouse while another computes.
    partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
    async handleBatch(records) {
      const { decoded, dlq } = await decodeBatch(codec, 'features', records);
      const ready = currentChampion();
      const now = clock();
      const messages: Message[] = [];
      const rows: object[] = [];
      const latest = new Map<string, Prediction>();
      const rejected: DlqEntry[] = [...dlq];
      const ver = now * 1000;
      for (const { record, event } of decoded) {
        let p: Prediction;
        try {
          p = predictStep(event, ready, config.pipeline.decisionThreshold, now);
        } catch (error) {
          if (!(error instanceof PredictError)) throw error;
          rejected.push({ record, reason: error });
          continue;
        }
        messages.push({ key: p.location, value: codec.encode('prediction', p) });
        rows.push(predictionRow(p, ver));
        latest.set(p.location, p);
        metrics.observe('prediction_lag_ms', p.predictedAt - p.ingestedAt);
      }
      await sendBounded(deps.producer, config.topics.predictions, messages);
      await sendToDlq(deps.producer, config.topics.observationsDlq, rejected);
      await deps.clickhouse.insertRows('predictions', rows);
      if (latest.size > 0) {
        const multi = redis.client.multi();
        for (const [location, p] of latest) {
          multi.set(redis.key(...STATE_KEYS.latest(location)), JSON.stringify(latestForecastOf(p)));
        }
        await multi.exec();
      }
      metrics.inc('predictions', undefined, messages.length);
      metrics.inc('predictor_dlq', undefined, rejected.length);
    },
  });
  return { name: 'predictor', stop: running.stop, done: running.done };
}
