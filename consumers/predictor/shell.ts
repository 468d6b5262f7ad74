/**
 * Predictor shell: feature vectors → predictions, with the champion of the moment (the watcher swaps it on
 * a promotion event, no restart). Per batch: one produce, one ClickHouse insert, one Redis pipeline of the
 * stations' latest forecasts; then the commit.
 */
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { observationRules } from '../../lib/domain/weather/validation.ts';
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
import { latestForecastOf, predictBatchStep } from './step.ts';

export async function startPredictorStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics, champion } = deps;
  if (!champion) throw new Error('the predictor stage needs a champion source');
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'predictor' });
  const currentChampion = preparedChampionOf(champion);
  const stations = loadStationRegistry(config.openMeteo.stationsFile);

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
      const ver = now * 1000;
      const result = predictBatchStep(
        decoded.map((d) => ({ event: d.event, key: d.record.key?.toString('utf8') ?? null })),
        ready,
        config.pipeline.decisionThreshold,
        now,
        observationRules({ eventTime: config.eventTime, stations, now }),
      );
      const messages: Message[] = [];
      const rows: object[] = [];
      for (const p of result.predictions) {
        messages.push({ key: p.location, value: codec.encode('prediction', p) });
        rows.push(predictionRow(p, ver));
        metrics.observe('prediction_lag_ms', p.predictedAt - p.ingestedAt);
      }
      const latest = result.latest;
      const rejected: DlqEntry[] = [
        ...dlq,
        ...result.rejected.map((r) => ({
          record: decoded[r.at]!.record,
          reason: r.reason,
          field: r.field,
          kind: r.kind,
          stage: 'predictor',
        })),
      ];
      for (const r of result.rejected) metrics.inc('rejected_events', { stage: 'predictor', kind: r.kind });
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
