/**
 * The consumer groups of a deployment's stages and the topics each reads: what consumer lag is measured
 * on (the API's pipeline view, the pipeline's /metrics). The trainer and the watchers use private groups
 * (they re-read their topic whole at every start), so they have no lag to report here.
 */
import type { Config } from '../platform/config.ts';

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
