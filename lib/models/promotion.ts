/**
 * Moving an alias: the registry row first (so the artifact and alias are readable when anyone reacts),
 * then the event on the compacted topic that running predictors follow.
 */
import type { ClickHouse } from '../platform/clickhouse/client.ts';
import { insertAlias, setModelStatus, type Alias } from '../platform/clickhouse/queries/models.ts';
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
