/**
 * Drift shell: labeled examples → weekly drift rows (ClickHouse) and alerts (topic). Histograms of each
 * open event-time week live in one Redis value, written with the batch, so a restart resumes the week.
 * One consumer instance covers all partitions: PSI is a property of the whole population, not of a
 * partition's stations.
 */
import type { Message } from '../../lib/platform/kafka/client.ts';
import { runBatchConsumer } from '../../lib/platform/kafka/consumer.ts';
import { sendToDlq } from '../../lib/platform/kafka/dlq.ts';
import { sendBounded } from '../../lib/platform/kafka/producer.ts';
import { parseDriftReference, type DriftReference } from '../../lib/ml/reference.ts';
import { STATE_KEYS } from '../../lib/domain/state-keys.ts';
import { decodeBatch, groupIdOf, type RunningStage, type StageDeps } from '../shell/stage.ts';
import {
  accumulateDrift,
  closeWeeks,
  DEFAULT_DRIFT_THRESHOLDS,
  initialDriftState,
  parseDriftState,
  serializeDriftState,
  type DriftState,
} from './step.ts';
import { referencesOf } from '../../lib/platform/clickhouse/queries/models.ts';
import { driftRow } from './rows.ts';

/** Days a week stays open after its Sunday: partitions are read in turn, so one may trail the others. */
const CLOSE_GRACE_DAYS = 2;

export async function startDriftStage(deps: StageDeps): Promise<RunningStage> {
  const { config, codec, redis, metrics, clickhouse } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.logger.child({ stage: 'drift' });
  const stateKey = redis.key(...STATE_KEYS.drift());
  const thresholds = { ...DEFAULT_DRIFT_THRESHOLDS, psi: config.pipeline.driftPsiAlert };
  const references = new Map<string, DriftReference | undefined>();
  const partitionDates = new Map<number, string>();

  const stored = await redis.client.get(stateKey);
  let state: DriftState = stored === null ? initialDriftState() : parseDriftState(stored);

  /** Loads the references of versions not seen yet, in one query. */
  const loadReferences = async (versions: Iterable<string>) => {
    const missing = [...new Set(versions)].filter((v) => !references.has(v));
    if (missing.length === 0) return;
    const rows = await referencesOf(clickhouse, missing);
    for (const v of missing) references.set(v, undefined);
    for (const row of rows) {
      const json = JSON.parse(row.reference) as unknown;
      if (json !== null) references.set(row.version, parseDriftReference(json));
    }
  };
  const referenceOf = (version: string) => references.get(version);

  const running = await runBatchConsumer({
    kafka: deps.kafka,
    groupId: groupIdOf(config, 'drift'),
    topics: [config.topics.labeled],
    fromBeginning: true,
    logger: log,
    async handleBatch(records, context) {
      const { decoded, dlq } = await decodeBatch(codec, 'labeled', records);
      const examples = decoded.map((d) => d.event);
      await loadReferences(examples.map((e) => e.modelVersion));
      const added = accumulateDrift(state, examples, referenceOf);
      metrics.inc('drift_examples', { outcome: 'accumulated' }, added.accumulated);
      metrics.inc('drift_examples', { outcome: 'late' }, added.late);
      metrics.inc('drift_examples', { outcome: 'no-reference' }, added.noReference);
      let latest = partitionDates.get(context.partition) ?? '';
      for (const e of examples) if (e.date > latest) latest = e.date;
      if (latest !== '') partitionDates.set(context.partition, latest);
      // The slowest partition bounds event time: closing on the fastest would make the others' rows late.
      const watermark = [...partitionDates.values()].reduce((a, b) => (b < a ? b : a), latest);
      const closed =
        watermark === ''
          ? null
          : closeWeeks(added.state, watermark, referenceOf, thresholds, CLOSE_GRACE_DAYS);
      const next = closed?.state ?? added.state;
      if (closed && closed.rows.length > 0) {
        const now = clock();
        await clickhouse.insertRows(
          'drift',
          closed.rows.map((r) => driftRow(r, now, now * 1000)),
        );
        const messages: Message[] = closed.alerts.map((a) => ({
          key: `${a.kind}:${a.name}`,
          value: codec.encode('driftAlert', a),
        }));
        await sendBounded(deps.producer, config.topics.driftAlerts, messages);
        metrics.inc('drift_rows', undefined, closed.rows.length);
        metrics.inc('drift_alerts', undefined, closed.alerts.length);
        if (closed.alerts.length > 0) {
          log.warn({ week: closed.rows[0]!.week, alerts: closed.alerts.length }, 'drift alerts raised');
        }
      }
      await sendToDlq(deps.producer, config.topics.observationsDlq, dlq);
      await redis.client.set(stateKey, serializeDriftState(next));
      state = next;
    },
  });
  return { name: 'drift', stop: running.stop, done: running.done };
}
