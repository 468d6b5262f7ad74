/**
 * The stage runtime of the Kafka-to-Kafka stages (features, predictor, labeler): decode at the edge, the
 * stage's pure step record by record, and exactly-once on Kafka.
 *
 * Per batch of one input partition:
 *   1. decode; a record that does not decode goes to the DLQ (an unreachable registry is retried instead);
 *   2. load the stations' states (Redis), run the step on each record, isolated: a record whose step
 *      throws goes to the DLQ with the reason, its field, the stage and its source position, and the
 *      batch goes on;
 *   3. write the idempotent sinks (ClickHouse ReplacingMergeTree rows, Redis latest values): durable
 *      before the commit, and harmless when a batch is redone;
 *   4. one Kafka transaction: the outputs, the DLQ records, the input offset; committed or nothing shows
 *      (readers are read-committed);
 *   5. the states and the partition's marker, in one Redis script that refuses to write unless the marker
 *      is where this owner left it.
 * A failure in 1-4 redoes the batch after a wait (the consumer shell waits outages out, reporting
 * not-ready); after a failed transaction the partition is verified again first (the commit may have
 * happened). A failure in 5 is retried in place: the outputs are committed, only the state is missing, and
 * if the process dies first, the next owner re-applies the committed records to the state (resume.ts).
 */
import { describeError, isRetriable, RainstreamError } from '../../lib/platform/errors.ts';
import type { EventKind, EventTypes } from '../../lib/domain/events.ts';
import type { ClickHouse } from '../../lib/platform/clickhouse/client.ts';
import type { Message } from '../../lib/platform/kafka/client.ts';
import {
  isGroupMembershipError,
  runBatchConsumer,
  type BatchContext,
  type ConsumedRecord,
} from '../../lib/platform/kafka/consumer.ts';
import { toDlqMessage, type DlqEntry, type DlqKind } from '../../lib/platform/kafka/dlq.ts';
import { createLogPositions } from '../../lib/platform/kafka/offsets.ts';
import {
  openTransaction,
  TransactionalProducers,
  type OpenTransaction,
  type OutputBatch,
} from '../../lib/platform/kafka/transactions.ts';
import { reporterOf } from '../../lib/platform/health.ts';
import { retryForever } from '../../lib/platform/retry.ts';
import { withRedis } from '../../lib/platform/redis.ts';
import { stepEach } from './isolate.ts';
import { createPartitionStateStore, type PartitionStateStore, type StateCodec } from './partition-state.ts';
import { planResume, type ResumePlan } from './resume.ts';
import { decodeBatch, groupIdOf, PARTITIONS_IN_FLIGHT, type RunningStage, type StageDeps } from './stage.ts';

export interface Output {
  topic: string;
  message: Message;
}

export interface Row {
  table: string;
  row: object;
}

/**
 * A record the step refuses (the domain validation, a late or conflicting day): recorded in the DLQ with
 * its kind, field and reason, never thrown (a throw is kept for a fault of the step itself).
 */
export interface Rejection {
  kind: DlqKind;
  field: string;
  reason: string;
  /** For a conflict: the version kept. */
  conflicting?: unknown;
}

/** What one record's step produced. Everything is optional: a duplicate produces nothing at all. */
export interface RecordEffects<S> {
  /** The entity's new state; undefined leaves it as it was, null deletes it. */
  state?: S | null;
  outputs?: Output[];
  rows?: Row[];
  /** Redis values written before the commit (materializations with deterministic keys). */
  cache?: Array<readonly [key: string, value: string]>;
  /** Counted per stage as `<stage>_events{outcome=...}`. */
  outcome?: string;
  /** The record goes to the DLQ for this reason (with whatever else the step made of it). */
  rejection?: Rejection;
}

export interface BatchEnd<S> {
  /** States changed by the partition-level work (e.g. the label join's event-time sweep). */
  changed?: ReadonlyMap<string, S | null>;
  rows?: Row[];
  /**
   * Called once the batch is done (committed and its states saved), never for an attempt that failed:
   * where a shell moves what it keeps in memory (a watermark), so a redone batch sees what the first
   * attempt saw.
   */
  onDone?(): void;
}

export interface KeyedState<K extends EventKind, S> extends StateCodec<S> {
  /** The entity (station) a record belongs to: its state is the one the step gets. */
  idOf(event: EventTypes[K]): string;
}

export interface StageSpec<K extends EventKind, S> {
  name: string;
  inputTopic: string;
  inputKind: K;
  /** Keyed state in Redis; absent for a stateless stage (the predictor). */
  state?: KeyedState<K, S>;
  /** The pure step of one record. A throw is that record's fault: it goes to the DLQ, the batch goes on. */
  step(event: EventTypes[K], state: S | null, record: ConsumedRecord): RecordEffects<S>;
  /**
   * Partition-level work after a batch's records, with their states (`live` false while the state is
   * being rebuilt from the log: nothing it returns but states is used then).
   */
  endBatch?(partition: number, states: ReadonlyMap<string, S | null>, live: boolean): BatchEnd<S>;
  /** Called once a live batch is committed, with its records' effects (stage-specific counters). */
  committed?(effects: readonly RecordEffects<S>[]): void;
  /**
   * Called when this member (again) owns a partition, once it is verified: where a shell reloads what it
   * keeps in memory about the partition (its stations, a watermark) from the state, so a restart or a
   * takeover sees what the previous owner saw. `plan` is 'rebuild' when the state is being rebuilt from
   * the log (nothing in Redis is to be trusted then; the rebuild's batches bring it back).
   */
  resumePartition?(
    partition: number,
    context: { partitions: number; plan: ResumePlan['kind'] },
  ): Promise<void>;
}

/**
 * How long a partition whose transaction was fenced waits before taking its producer back: long enough for
 * the consumer's wait loop to have sent a real heartbeat (at most one per second), which fails if the group
 * rebalanced (another member owns the partition: the batch is then let go). When the heartbeat passes,
 * this member still owns the partition, and the fencing came from its own transaction timing out at the
 * broker (a long broker outage) or from a zombie: taking the id back is then right.
 */
const FENCE_HOLD_MS = 2_500;

interface PartitionRun {
  phase: 'unverified' | 'seeking' | 'ready';
  /** Records below this offset are done (committed, or applied to the state while rebuilding). */
  done: bigint;
  /** Below this offset, records only rebuild the state: their outputs were committed long ago. */
  rebuildUntil: bigint;
  /** The marker as this owner last read or wrote it (the compare-and-set's expected value). */
  marker: bigint | null;
  /** While rebuilding afresh: entities already loaded once (Redis is ignored for the others). */
  fresh: Set<string> | null;
  fencedAt: number;
  /** Offsets of records whose rows ClickHouse refused in an attempt of the batch in hand, with why. */
  refused: Map<string, unknown>;
  /** The last attempt's sinks failed: write them before opening the next transaction. */
  sinksFailing: boolean;
}

export async function runStage<K extends EventKind, S>(
  deps: StageDeps,
  spec: StageSpec<K, S>,
): Promise<RunningStage> {
  const { config, codec, redis, metrics } = deps;
  const log = deps.logger.child({ stage: spec.name });
  const groupId = groupIdOf(config, spec.name);
  const topic = spec.inputTopic;
  const clock = deps.clock ?? Date.now;
  const health = reporterOf(deps.health, `stage:${spec.name}`);
  const positions = createLogPositions(deps.kafka);
  const producers = new TransactionalProducers({ kafka: deps.kafka, groupId, topic, logger: log });
  const store: PartitionStateStore<S> | null = spec.state
    ? createPartitionStateStore(redis, spec.name, topic, spec.state, (id, error) => {
        metrics.inc(`${spec.name}_state_unreadable`);
        log.error({ err: error, id }, 'stored state does not parse; the entity starts afresh');
      })
    : null;
  const runs = new Map<number, PartitionRun>();
  const runOf = (partition: number): PartitionRun => {
    let run = runs.get(partition);
    if (!run) {
      run = {
        phase: 'unverified',
        done: 0n,
        rebuildUntil: 0n,
        marker: null,
        fresh: null,
        fencedAt: 0,
        refused: new Map(),
        sinksFailing: false,
      };
      runs.set(partition, run);
    }
    return run;
  };

  const dlqMessage = (entry: DlqEntry): Message => toDlqMessage({ stage: spec.name, ...entry });

  /**
   * Before the first batch of a partition (after an assignment or a failed transaction): fence any
   * previous owner, then read what Kafka committed and what the state reflects, and decide where to go.
   * Returns false when the consumer was moved (the batch in hand is stale).
   */
  const verify = async (partition: number, run: PartitionRun, first: bigint, context: BatchContext) => {
    await producers.producerFor(partition);
    const committed = await positions.committed(groupId, topic, partition);
    if (!store) {
      run.done = committed ?? 0n;
      run.rebuildUntil = run.done;
      run.phase = 'ready';
      return true;
    }
    // Whatever this member remembers of the partition's states may be another owner's past by now.
    store.forget(partition);
    const marker = await store.marker(partition);
    const ends = await positions.ends(topic);
    const logStart = ends.get(partition)?.low ?? 0n;
    const plan = planResume(marker, committed, logStart);
    run.marker = marker;
    run.done = plan.from;
    run.rebuildUntil = plan.until;
    run.fresh = plan.fresh ? new Set() : null;
    if (plan.kind !== 'in-step') {
      log.warn(
        { partition, plan: plan.kind, from: String(plan.from), until: String(plan.until) },
        plan.kind === 'rebuild' ? 'rebuilding state from the log' : 'catching state up with the log',
      );
    }
    if (first > plan.from && run.phase !== 'seeking') {
      run.phase = 'seeking';
      context.seek(String(plan.from));
      return false;
    }
    await spec.resumePartition?.(partition, { partitions: ends.size, plan: plan.kind });
    run.phase = 'ready';
    return true;
  };

  const loadStates = async (partition: number, run: PartitionRun, ids: readonly string[]) => {
    if (!store || ids.length === 0) return new Map<string, S | null>();
    if (!run.fresh) return store.load(partition, ids);
    const stored = await store.load(
      partition,
      ids.filter((id) => run.fresh!.has(id)),
    );
    const states = new Map<string, S | null>();
    for (const id of ids) {
      states.set(id, stored.get(id) ?? null);
      run.fresh.add(id);
    }
    return states;
  };

  /** Writes states and marker; retried in place (the outputs are committed), never redone. */
  const saveStates = async (
    partition: number,
    run: PartitionRun,
    next: bigint,
    changed: ReadonlyMap<string, S | null>,
    context: Pick<BatchContext, 'signal' | 'heartbeat'>,
  ) => {
    if (!store) return;
    let failed = false;
    await retryForever(
      async (attempt) => {
        if (attempt > 0) {
          failed = true;
          await heartbeatThroughOutage(context.heartbeat);
        }
        if (!(await store.save(partition, run.marker, next, changed))) {
          run.phase = 'unverified';
          run.fencedAt = clock();
          throw new RainstreamError('FENCED', `the ${spec.name} state of partition ${partition} moved on`);
        }
      },
      {
        signal: context.signal,
        shouldRetry: isRetriable,
        onRetry: ({ error, attempt }) => {
          if (attempt === 1 || attempt % 10 === 0)
            log.warn({ err: error, attempt }, 'state write failed; retrying');
          health(false, describeError(error));
        },
      },
    );
    run.marker = next;
    if (failed) health(true);
  };

  /** Applies records to the state only (rebuilding it): outputs of these records were committed before. */
  const rebuild = async (
    partition: number,
    run: PartitionRun,
    records: ConsumedRecord[],
    context: BatchContext,
  ) => {
    const { decoded } = await decodeBatch(codec, spec.inputKind, records);
    const ids = [...new Set(decoded.map((d) => spec.state!.idOf(d.event)))];
    const states = await loadStates(partition, run, ids);
    const changed = new Map<string, S | null>();
    stepEach(decoded, (d) => {
      const id = spec.state!.idOf(d.event);
      const effects = spec.step(d.event, states.get(id) ?? null, d.record);
      if (effects.state !== undefined) {
        states.set(id, effects.state);
        changed.set(id, effects.state);
      }
    });
    const end = spec.endBatch?.(partition, states, false) ?? {};
    for (const [id, state] of end.changed ?? []) changed.set(id, state);
    const next = BigInt(records[records.length - 1]!.offset) + 1n;
    await saveStates(partition, run, next, changed, context);
    run.done = next;
    end.onDone?.();
    if (next >= run.rebuildUntil) run.fresh = null;
    metrics.inc(`${spec.name}_rebuilt`, undefined, records.length);
  };

  /** After a failed transaction: the producer is spent and the commit may have happened; verify first. */
  const transactionFailed = async (partition: number, run: PartitionRun, error: unknown) => {
    run.phase = 'unverified';
    if (error instanceof RainstreamError && error.code === 'FENCED') run.fencedAt = clock();
    await producers.discard(partition);
  };

  const live = async (
    partition: number,
    run: PartitionRun,
    records: ConsumedRecord[],
    context: BatchContext,
  ) => {
    // Where a batch's time goes, per phase (bench:pipeline prints the table): `stage_ms{stage,phase}`.
    let lap = performance.now();
    const phase = (name: string) => {
      const now = performance.now();
      metrics.inc('stage_ms', { stage: spec.name, phase: name }, now - lap);
      lap = now;
    };
    const { decoded: all, dlq } = await decodeBatch(codec, spec.inputKind, records);
    // Records whose rows ClickHouse refused in an earlier attempt of this batch: the DLQ, not the step.
    const decoded = all.filter((d) => {
      const refusal = run.refused.get(d.record.offset);
      if (refusal !== undefined) dlq.push({ record: d.record, reason: refusal });
      return refusal === undefined;
    });
    const ids = spec.state ? [...new Set(decoded.map((d) => spec.state!.idOf(d.event)))] : [];
    phase('decode');
    const states = await loadStates(partition, run, ids);
    phase('state-load');
    const changed = new Map<string, S | null>();
    const effectsOf = new Map<ConsumedRecord, RecordEffects<S>>();
    const failures = stepEach(decoded, (d) => {
      const id = spec.state ? spec.state.idOf(d.event) : '';
      const effects = spec.step(d.event, states.get(id) ?? null, d.record);
      if (effects.state !== undefined) {
        states.set(id, effects.state);
        changed.set(id, effects.state);
      }
      effectsOf.set(d.record, effects);
    });
    for (const [record, effects] of effectsOf) {
      const r = effects.rejection;
      if (r === undefined) continue;
      dlq.push({ record, reason: r.reason, field: r.field, kind: r.kind, conflicting: r.conflicting });
      metrics.inc('rejected_events', { stage: spec.name, kind: r.kind });
    }
    for (const { item, error } of failures) {
      dlq.push({ record: item.record, reason: error, kind: 'error' });
      log.warn(
        { err: error, partition, offset: item.record.offset },
        'record failed its step; sent to the DLQ',
      );
    }
    const end = spec.endBatch?.(partition, states, true) ?? {};
    for (const [id, state] of end.changed ?? []) changed.set(id, state);

    const rows: { row: Row; record: ConsumedRecord | null }[] = [];
    for (const [record, effects] of effectsOf)
      for (const row of effects.rows ?? []) rows.push({ row, record });
    for (const row of end.rows ?? []) rows.push({ row, record: null });
    const cache = [...effectsOf.values()].flatMap((e) => e.cache ?? []);
    const outputs = groupByTopic([...effectsOf.values()].flatMap((e) => e.outputs ?? []));
    // `records` is the tail of the fetch, so only markers or aborted records can follow its last one:
    // commit past them too (BatchContext.nextOffset).
    const afterRecords = BigInt(records[records.length - 1]!.offset) + 1n;
    const afterFetch = BigInt(context.nextOffset);
    const next = afterFetch > afterRecords ? afterFetch : afterRecords;
    phase('step');

    // The sinks (durable before the commit, idempotent when a batch is redone) and the transaction's sends
    // overlap: neither needs the other, and both are done before the offsets are committed. While the sinks
    // are failing (ClickHouse away) they go first, so waiting attempts do not fill the log with aborted
    // records.
    const writeSinks = async () => {
      const started = performance.now();
      const refused = await insertRowsIsolating(deps.clickhouse, rows);
      const inserted = performance.now();
      metrics.inc('stage_sink_ms', { stage: spec.name, sink: 'clickhouse' }, inserted - started);
      if (cache.length > 0) {
        await withRedis(`writing ${cache.length} ${spec.name} values`, async () => {
          const multi = redis.client.multi();
          for (const [key, value] of cache) multi.set(key, value);
          await multi.exec();
        });
        metrics.inc('stage_sink_ms', { stage: spec.name, sink: 'redis' }, performance.now() - inserted);
      }
      return refused;
    };
    let sinks: Promise<{ record: ConsumedRecord; error: unknown }[]> | null = null;
    if (run.sinksFailing) {
      sinks = writeSinks();
      await sinks;
    }
    let transaction: OpenTransaction;
    try {
      transaction = await openTransaction(
        await producers.producerFor(partition),
        `transaction for ${topic}[${partition}]`,
      );
    } catch (error) {
      await transactionFailed(partition, run, error);
      throw error;
    }
    phase('tx-open');
    sinks ??= writeSinks();
    const position = { groupId, topic, partition, offset: String(next) };
    // The outputs, the DLQ records and the consumed offset all go into the transaction while the sinks are
    // written: none of it counts before the commit, which waits for the sinks; only EndTxn is left after.
    const sendAll = async () => {
      await transaction.send(
        dlq.length > 0
          ? [...outputs, { topic: config.topics.observationsDlq, messages: dlq.map(dlqMessage) }]
          : outputs,
      );
      await transaction.sendOffsets(position);
    };
    const [sunk, sent] = await Promise.allSettled([sinks, sendAll()]);
    phase('sinks+tx-send');
    run.sinksFailing = sunk.status === 'rejected';
    if (sent.status === 'rejected') {
      await transactionFailed(partition, run, sent.reason);
      throw sent.reason;
    }
    if (sunk.status === 'rejected' || sunk.value.length > 0) {
      if (!(await transaction.abort())) await transactionFailed(partition, run, null);
      if (sunk.status === 'rejected') throw sunk.reason;
      // Outputs of the refused records are in the aborted transaction: the batch is redone without them.
      for (const { record, error } of sunk.value) run.refused.set(record.offset, error);
      throw new RainstreamError(
        'TRANSACTION',
        `${sunk.value.length} rows refused by ClickHouse; redoing the batch`,
      );
    }
    try {
      // A rebalance learnt of here lets the batch go: the transaction is aborted rather than left open
      // (an open transaction holds back every read-committed reader of the partitions it wrote to).
      await context.heartbeat();
      await transaction.commit();
      phase('tx-commit');
    } catch (error) {
      await transaction.abort();
      await transactionFailed(partition, run, error);
      throw error;
    }
    run.done = next;
    run.refused.clear();
    await saveStates(partition, run, next, changed, context);
    phase('state-save');
    end.onDone?.();

    const effects = [...effectsOf.values()];
    const outcomes = new Map<string, number>();
    for (const e of effects) if (e.outcome) outcomes.set(e.outcome, (outcomes.get(e.outcome) ?? 0) + 1);
    for (const [outcome, n] of outcomes) metrics.inc(`${spec.name}_events`, { outcome }, n);
    metrics.inc(`${spec.name}_dlq`, undefined, dlq.length);
    spec.committed?.(effects);
  };

  const handleBatch = async (all: ConsumedRecord[], context: BatchContext) => {
    const startedAt = clock();
    const partition = context.partition;
    const run = runOf(partition);
    if (run.fencedAt !== 0) {
      if (clock() - run.fencedAt < FENCE_HOLD_MS) {
        throw new RainstreamError(
          'FENCED',
          `partition ${partition} was taken over; waiting for the rebalance`,
        );
      }
      // The heartbeats passed: this member still owns the partition.
      run.fencedAt = 0;
    }
    if (run.phase !== 'ready' && !(await verify(partition, run, BigInt(all[0]!.offset), context))) return;
    const records = all.filter((r) => BigInt(r.offset) >= run.done);
    if (records.length === 0) return;
    const cut = records.findIndex((r) => BigInt(r.offset) >= run.rebuildUntil);
    const rebuilding = cut === -1 ? records : records.slice(0, cut);
    const rest = cut === -1 ? [] : records.slice(cut);
    if (rebuilding.length > 0 && store) await rebuild(partition, run, rebuilding, context);
    if (rest.length > 0) {
      await live(partition, run, rest, context);
      metrics.batchDone(spec.name, startedAt, rest, clock());
    }
  };

  const running = await runBatchConsumer({
    kafka: deps.kafka,
    groupId,
    topics: [topic],
    fromBeginning: true,
    logger: log,
    // Stations of different partitions share no state: partitions are handled side by side, each with
    // its own transactional producer.
    partitionsConsumedConcurrently: PARTITIONS_IN_FLIGHT,
    autoCommit: false,
    // A transaction costs a few round trips per batch: fetches wait for STAGE_FETCH_MIN_BYTES (256 kB, about
    // 1,500 records) or STAGE_FETCH_MAX_WAIT_MS rather than returning each trickle of records as its own batch.
    minBytes: config.pipeline.fetch.minBytes,
    maxWaitTimeMs: config.pipeline.fetch.maxWaitMs,
    health,
    onAssignment(assignment) {
      const mine = new Set(assignment[topic] ?? []);
      for (const partition of [...runs.keys()]) if (!mine.has(partition)) runs.delete(partition);
      // Whatever happened while the group rebalanced, each partition is verified again before use.
      for (const run of runs.values()) {
        run.phase = 'unverified';
        run.fencedAt = 0;
      }
      void producers.retain(mine);
    },
    handleBatch,
  });
  health(true);
  log.info({ groupId, topic }, 'stage running');
  return {
    name: spec.name,
    async stop() {
      await running.stop();
      await producers.close();
      await positions.close();
    },
    done: running.done,
  };
}

/** A heartbeat that lets a broker outage pass (the wait goes on) but not a rebalance (the batch is let go). */
async function heartbeatThroughOutage(heartbeat: () => Promise<void>): Promise<void> {
  try {
    await heartbeat();
  } catch (error) {
    if (isGroupMembershipError(error)) throw error;
  }
}

function groupByTopic(outputs: readonly Output[]): OutputBatch[] {
  const byTopic = new Map<string, Message[]>();
  for (const { topic, message } of outputs) {
    let list = byTopic.get(topic);
    if (!list) byTopic.set(topic, (list = []));
    list.push(message);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}

/**
 * Inserts rows table by table. A retriable failure (ClickHouse away) is thrown: the batch waits. A refusal
 * is narrowed down row by row: the rows the server refuses are returned with their source records (for the
 * DLQ), unless every row is refused, which is the sink's fault (a table missing, a schema out of date),
 * not the records': then the refusal is thrown and the partition stalls, loudly, until someone fixes it.
 */
export async function insertRowsIsolating(
  clickhouse: Pick<ClickHouse, 'insertRows'>,
  rows: readonly { row: Row; record: ConsumedRecord | null }[],
): Promise<{ record: ConsumedRecord; error: unknown }[]> {
  const refused: { record: ConsumedRecord; error: unknown }[] = [];
  const byTable = new Map<string, { row: object; record: ConsumedRecord | null }[]>();
  for (const { row, record } of rows) {
    let list = byTable.get(row.table);
    if (!list) byTable.set(row.table, (list = []));
    list.push({ row: row.row, record });
  }
  // Tables are written side by side: each insert is a round trip, and none depends on another.
  const insertTable = async (table: string, entries: { row: object; record: ConsumedRecord | null }[]) => {
    try {
      await clickhouse.insertRows(
        table,
        entries.map((e) => e.row),
      );
      return;
    } catch (error) {
      if (isRetriable(error) || (entries.length === 1 && entries[0]!.record === null)) throw error;
      let accepted = 0;
      const here: { record: ConsumedRecord; error: unknown }[] = [];
      for (const entry of entries) {
        try {
          await clickhouse.insertRows(table, [entry.row]);
          accepted++;
        } catch (rowError) {
          if (isRetriable(rowError) || entry.record === null) throw rowError;
          here.push({ record: entry.record, error: rowError });
        }
      }
      if (accepted === 0 && entries.length > 1) throw error;
      refused.push(...here);
    }
  };
  await Promise.all([...byTable].map(([table, entries]) => insertTable(table, entries)));
  return refused;
}
