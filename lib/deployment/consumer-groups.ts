/**
 * The consumer groups of a deployment's stages and the topics each reads: what consumer lag is measured
 * on (the API's pipeline view, the pipeline's /metrics). The trainer and the watchers use private groups
 * (they re-read their topic whole at every start), so they have no lag to report here.
 */
import type { Config } from '../platform/config.ts';
import { consumerLag } from '../platform/consumer-lag.ts';
import type { Kafka } from '../platform/kafka/client.ts';

export interface StageGroup {
  stage: string;
  groupId: string;
  topics: string[];
}

export function stageGroups(config: Pick<Config, 'groupPrefix' | 'topics'>): StageGroup[] {
  const t = config.topics;
  const group = (stage: string, topics: string[]): StageGroup => ({
    stage,
    groupId: `${config.groupPrefix}.${stage}`,
    topics,
  });
  return [
    group('features', [t.observations]),
    group('predictor', [t.features]),
    group('labeler', [t.predictions]),
    group('drift', [t.labeled]),
    group('alerts', [t.predictions, t.modelEvents, t.driftAlerts]),
  ];
}

/**
 * The groups a replay waits on before it reports: every stage up to the label join (the training gate's
 * `upTo: 'labeler'`), or all of them with drift and its week closer (the demo's and benches' final wait).
 * The trainer is waited on through its recorded runs, not its lag (its labeled group is private).
 */
export function restGroups(
  config: Pick<Config, 'groupPrefix' | 'topics'>,
  upTo: 'labeler' | 'drift',
): StageGroup[] {
  const stages =
    upTo === 'labeler' ? ['features', 'predictor', 'labeler'] : ['features', 'predictor', 'labeler', 'drift'];
  const groups = stageGroups(config).filter((g) => stages.includes(g.stage));
  if (upTo === 'drift') {
    const drift = groups.find((g) => g.stage === 'drift')!;
    drift.topics = [config.topics.predictions, config.topics.labeled];
    groups.push({
      stage: 'drift-closer',
      groupId: `${config.groupPrefix}.drift-closer`,
      topics: [config.topics.driftPartials],
    });
  }
  return groups;
}

/** Whether these groups have read their topics to the end, through one admin connection kept open. */
export function lagProbe(
  kafka: Kafka,
  groups: readonly StageGroup[],
): { idle(): Promise<boolean>; close(): Promise<void> } {
  const admin = kafka.admin();
  let connected: Promise<void> | null = null;
  return {
    async idle() {
      connected ??= admin.connect();
      await connected;
      const lags = await consumerLag(admin, groups);
      // A group that has not committed on some partition yet shows no row for it: not at rest either.
      return lags.every((g) => g.lag === 0 && g.partitions.length > 0);
    },
    async close() {
      if (connected) await admin.disconnect();
    },
  };
}
