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
}

export async function promote(deps: PromotionDeps, p: Promotion): Promise<void> {
  const at = p.at ?? Date.now();
  await insertAlias(deps.clickhouse, p.alias, p.version, p.previousVersion, p.reason, at);
  if (p.alias === 'champion') await setModelStatus(deps.clickhouse, p.version, 'promoted');
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

export class PromotionError extends TypedError<'MODEL_NOT_FOUND' | 'NO_PREVIOUS_VERSION'> {}

/** Points `alias` at a registered `version` (the admin API's and the CLI's promote). */
export async function promoteVersion(
  deps: PromotionDeps,
  request: { alias: Alias; version: string; reason: string; at?: number },
): Promise<Promotion> {
  const stored = await loadStoredModel(deps.clickhouse, request.version);
  if (!stored)
    throw new PromotionError('MODEL_NOT_FOUND', `no model version ${request.version} in the registry`);
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

/** Makes the champion's previous version the champion again. */
export async function rollbackChampion(
  deps: PromotionDeps,
  request: { reason: string; at?: number },
): Promise<Promotion> {
  const current = await currentAlias(deps.clickhouse, 'champion');
  const target = current?.previousVersion;
  if (!target)
    throw new PromotionError('NO_PREVIOUS_VERSION', 'the champion has no previous version to roll back to');
  return promoteVersion(deps, { alias: 'champion', version: target, reason: request.reason, at: request.at });
}
