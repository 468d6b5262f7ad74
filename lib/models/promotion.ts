import { TypedError } from '../platform/errors.ts';

/**
 * Moving an alias: the registry row first (so the artifact and alias are readable when anyone reacts),
 * then the event on the compacted topic that running predictors follow.
 */
import type { ClickHouse } from '../platform/clickhouse/client.ts';
import {
  currentAlias,
  insertAlias,
  setModelStatus,
  type Alias,
} from '../platform/clickhouse/queries/models.ts';
import { loadStoredModel } from './registry.ts';
import type { Config } from '../platform/config.ts';
import type { Producer } from '../platform/kafka/client.ts';
import type { EventCodec } from '../domain/events.ts';
import { TASKS, taskOfAlias, taskOrDefault, type TaskDeclaration } from './tasks.ts';

export interface PromotionDeps {
  clickhouse: ClickHouse;
  producer: Producer;
  codec: EventCodec;
  topics: Config['topics'];
}

export interface Promotion {
  alias: Alias;
  version: string;
  family: string;
  previousVersion: string | null;
  reason: string;
  at?: number;
  /** The model's row was registered with status 'promoted' already (the trainer's own promotions). */
  statusWritten?: boolean;
}

export async function promote(deps: PromotionDeps, p: Promotion): Promise<void> {
  const at = p.at ?? Date.now();
  await insertAlias(deps.clickhouse, p.alias, p.version, p.previousVersion, p.reason, at);
  // Any task's champion: its model row says it was promoted.
  if (taskOfAlias(p.alias)?.championAlias === p.alias && !p.statusWritten)
    await setModelStatus(deps.clickhouse, p.version, 'promoted');
  await deps.producer.send({
    topic: deps.topics.modelEvents,
    messages: [
      {
        key: p.alias,
        value: deps.codec.encode('modelEvent', {
          alias: p.alias,
          version: p.version,
          family: p.family,
          previousVersion: p.previousVersion,
          reason: p.reason,
          at,
        }),
      },
    ],
  });
}

export class PromotionError extends TypedError<'MODEL_NOT_FOUND' | 'NO_PREVIOUS_VERSION' | 'WRONG_TASK'> {}

/**
 * Points `alias` at a registered `version` (the admin API's and the CLI's promote). A task's alias takes
 * only that task's models: a rain classifier serving max_temp would answer probabilities as °C.
 */
export async function promoteVersion(
  deps: PromotionDeps,
  request: { alias: Alias; version: string; reason: string; at?: number },
): Promise<Promotion> {
  const stored = await loadStoredModel(deps.clickhouse, request.version);
  if (!stored)
    throw new PromotionError('MODEL_NOT_FOUND', `no model version ${request.version} in the registry`);
  const task = taskOfAlias(request.alias);
  const modelTask = taskOrDefault(stored.task);
  if (task !== null && modelTask !== task.name) {
    throw new PromotionError(
      'WRONG_TASK',
      `model version ${stored.version} is a ${modelTask} model: it cannot be ${task.name}'s ${request.alias}`,
    );
  }
  const current = await currentAlias(deps.clickhouse, request.alias);
  const promotion: Promotion = {
    alias: request.alias,
    version: stored.version,
    family: stored.family,
    previousVersion: current?.version ?? null,
    reason: request.reason,
    at: request.at ?? Date.now(),
  };
  await promote(deps, promotion);
  return promotion;
}

/** Makes a task's (default rain's) champion's previous version its champion again. */
export async function rollbackChampion(
  deps: PromotionDeps,
  request: { reason: string; at?: number; task?: TaskDeclaration },
): Promise<Promotion> {
  const task = request.task ?? TASKS.rain;
  const alias = task.championAlias as Alias;
  const current = await currentAlias(deps.clickhouse, alias);
  const target = current?.previousVersion;
  if (!target) {
    throw new PromotionError(
      'NO_PREVIOUS_VERSION',
      `${task.name}'s champion has no previous version to roll back to`,
    );
  }
  return promoteVersion(deps, { alias, version: target, reason: request.reason, at: request.at });
}
