/**
 * What the admin routes do: move aliases (through lib/models/promotion.ts, as the trainer and the CLI
 * do), ask for a retraining (a command on the commands topic, which the trainer consumes), and manage
 * alert subscriptions. Subscriptions are stored on their compacted topic (the truth the alerts stage
 * reads) and then in the ClickHouse view the API lists (without the secret).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import {
  promoteVersion,
  PromotionError,
  rollbackChampion,
  type PromotionDeps,
} from '../../lib/models/promotion.ts';
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import {
  listDeliveries,
  listSubscriptions,
  upsertSubscriptions,
  type DeliveryView,
  type SubscriptionView,
} from '../../lib/platform/clickhouse/queries/alerts.ts';
import type { Topics } from '../../lib/platform/config.ts';
import type { Producer } from '../../lib/platform/kafka/client.ts';
import {
  operatorCommand,
  type Command,
  type EventCodec,
  type Subscription,
} from '../../lib/domain/events.ts';
import { webhookUrlProblem, type AllowList } from '../../consumers/alerts/allow-list.ts';
import { subscriptionViewOf } from '../../consumers/alerts/rows.ts';
import { ApiError } from '../errors.ts';
import type { SubscriptionBody } from '../schemas.ts';
import { TASKS, type TaskName } from '../../lib/models/tasks.ts';
import type { Alias } from '../../lib/models/registry.ts';
import type { StationRegistry } from '../../lib/domain/stations.ts';

export interface AdminDeps {
  clickhouse: ClickHouse;
  producer: Producer;
  codec: EventCodec;
  topics: Topics;
  allowList: AllowList;
  /** The stations a forecast subscription may name: the ones the API serves. */
  stations: StationRegistry;
  clock: () => number;
}

export interface AliasChange {
  task: TaskName;
  /** The registry alias moved (a task's champion or challenger: champion, max_temp.champion, ...). */
  alias: string;
  version: string;
  previousVersion: string | null;
  reason: string;
  at: number;
}

export interface AdminService {
  /** Points the task's champion (or challenger) alias at a registered version of that task. */
  promote(
    version: string,
    alias: 'champion' | 'challenger',
    reason: string,
    task?: TaskName,
  ): Promise<AliasChange>;
  rollback(reason: string, task?: TaskName): Promise<AliasChange>;
  /** A retrain command for the task's lane of the trainer. */
  retrain(reason: string, requestedBy: string, task?: TaskName): Promise<Command & { topic: string }>;
  subscribe(body: SubscriptionBody, createdBy: string): Promise<SubscriptionView & { secret: string }>;
  unsubscribe(id: string): Promise<void>;
  subscriptions(): Promise<SubscriptionView[]>;
  deliveries(subscriptionId: string | undefined, limit: number): Promise<DeliveryView[]>;
}

function promotionError(error: unknown): never {
  if (error instanceof PromotionError) {
    throw new ApiError(error.code === 'MODEL_NOT_FOUND' ? 404 : 409, error.code, error.message, {
      field: error.code === 'MODEL_NOT_FOUND' ? 'version' : 'task',
    });
  }
  throw error;
}

/** The checks a subscription passes beyond its shape: what its kind needs, and where its URL points. */
export function subscriptionProblem(
  body: SubscriptionBody,
  allowList: AllowList,
  stations: StationRegistry,
): { field: string; reason: string } | null {
  if (body.kind === 'forecast') {
    if (body.location === undefined)
      return { field: 'location', reason: 'is required for a forecast subscription' };
    // A station the stream does not know never has a forecast: the subscription could never fire.
    const station = stations.check(body.location);
    if (station !== null) return { field: 'location', reason: station.reason };
    if (body.threshold === undefined)
      return { field: 'threshold', reason: 'is required for a forecast subscription' };
  } else {
    if (body.location !== undefined)
      return { field: 'location', reason: `is not used by a ${body.kind} subscription` };
    if (body.threshold !== undefined)
      return { field: 'threshold', reason: `is not used by a ${body.kind} subscription` };
  }
  const problem = webhookUrlProblem(allowList, body.url);
  return problem === null ? null : { field: 'url', reason: problem };
}

export function createAdminService(deps: AdminDeps): AdminService {
  const promotion: PromotionDeps = {
    clickhouse: deps.clickhouse,
    producer: deps.producer,
    codec: deps.codec,
    topics: deps.topics,
  };
  const change = (task: TaskName, p: Awaited<ReturnType<typeof promoteVersion>>): AliasChange => ({
    task,
    alias: p.alias,
    version: p.version,
    previousVersion: p.previousVersion,
    reason: p.reason,
    at: p.at ?? deps.clock(),
  });

  return {
    async promote(version, role, reason, taskName = 'rain') {
      const task = TASKS[taskName];
      const alias = (role === 'champion' ? task.championAlias : task.challengerAlias) as Alias;
      return change(
        taskName,
        await promoteVersion(promotion, { alias, version, reason, at: deps.clock() }).catch(promotionError),
      );
    },
    async rollback(reason, taskName = 'rain') {
      return change(
        taskName,
        await rollbackChampion(promotion, { reason, at: deps.clock(), task: TASKS[taskName] }).catch(
          promotionError,
        ),
      );
    },
    async retrain(reason, requestedBy, task = 'rain') {
      const command = operatorCommand({
        id: randomUUID(),
        kind: 'retrain',
        task,
        reason,
        requestedBy,
        at: deps.clock(),
      });
      await deps.producer.send({
        topic: deps.topics.commands,
        messages: [{ key: command.kind, value: deps.codec.encode('command', command) }],
      });
      return { ...command, topic: deps.topics.commands };
    },
    async subscribe(body, createdBy) {
      const problem = subscriptionProblem(body, deps.allowList, deps.stations);
      if (problem !== null) throw new ApiError(400, 'VALIDATION', problem.reason, { field: problem.field });
      const subscription: Subscription = {
        id: randomUUID(),
        kind: body.kind,
        location: body.location ?? null,
        threshold: body.threshold ?? null,
        url: body.url,
        secret: body.secret ?? randomBytes(32).toString('hex'),
        description: body.description,
        createdBy,
        createdAt: deps.clock(),
      };
      await deps.producer.send({
        topic: deps.topics.subscriptions,
        messages: [{ key: subscription.id, value: deps.codec.encode('subscription', subscription) }],
      });
      await upsertSubscriptions(deps.clickhouse, [
        subscriptionViewOf(subscription.id, subscription, subscription.createdAt),
      ]);
      const [view] = (await listSubscriptions(deps.clickhouse)).filter((s) => s.id === subscription.id);
      return { ...view!, secret: subscription.secret };
    },
    async unsubscribe(id) {
      const existing = (await listSubscriptions(deps.clickhouse)).find((s) => s.id === id);
      if (!existing) {
        throw new ApiError(404, 'SUBSCRIPTION_NOT_FOUND', `no subscription ${id}`, { field: 'id' });
      }
      await deps.producer.send({ topic: deps.topics.subscriptions, messages: [{ key: id, value: null }] });
      await upsertSubscriptions(deps.clickhouse, [subscriptionViewOf(id, null, deps.clock())]);
    },
    subscriptions: () => listSubscriptions(deps.clickhouse),
    deliveries: (subscriptionId, limit) => listDeliveries(deps.clickhouse, subscriptionId, limit),
  };
}
