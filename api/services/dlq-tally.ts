/**
 * DLQ counts by reason, for the dashboard: the DLQ topic read from its start through a private group and
 * counted in memory by (reason, field). The records carry their reason in a header (lib/platform/kafka/
 * dlq.ts); the value is never decoded. Distinct reasons are capped, past the cap they count as "other",
 * so a flood of unique messages cannot grow this without bound.
 */
import { randomUUID } from 'node:crypto';
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import { runBatchConsumer, type RunningConsumer } from '../../lib/platform/kafka/consumer.ts';
import { readDlqHeaders } from '../../lib/platform/kafka/dlq.ts';
import type { Logger } from '../../lib/platform/log.ts';

export const MAX_REASONS = 200;
const REASON_CHARS = 160;

export interface DlqCount {
  reason: string;
  field: string;
  count: number;
}

export interface DlqTally {
  total(): number;
  reasons(): DlqCount[];
  close(): Promise<void>;
}

/** Counting itself, apart from Kafka (pure, unit-tested). */
export function createDlqCounter(maxReasons = MAX_REASONS) {
  const counts = new Map<string, DlqCount>();
  let total = 0;
  return {
    add(reason: string, field: string, n = 1) {
      total += n;
      const text =
        reason.length > REASON_CHARS ? `${reason.slice(0, REASON_CHARS)}…` : reason || '(no reason)';
      let key = `${field}\n${text}`;
      if (!counts.has(key) && counts.size >= maxReasons) key = '\nother';
      let entry = counts.get(key);
      if (!entry) {
        entry =
          key === '\nother'
            ? { reason: 'other reasons', field: '', count: 0 }
            : { reason: text, field, count: 0 };
        counts.set(key, entry);
      }
      entry.count += n;
    },
    total: () => total,
    reasons: () => [...counts.values()].sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason)),
  };
}

export async function startDlqTally(deps: {
  kafka: Kafka;
  topic: string;
  groupPrefix: string;
  logger: Logger;
}): Promise<DlqTally> {
  const counter = createDlqCounter();
  const running: RunningConsumer = await runBatchConsumer({
    kafka: deps.kafka,
    groupId: `${deps.groupPrefix}.api-dlq-tally-${randomUUID()}`,
    topics: [deps.topic],
    fromBeginning: true,
    logger: deps.logger.child({ component: 'dlq-tally' }),
    async handleBatch(records) {
      for (const r of records) {
        const h = readDlqHeaders(r.headers);
        counter.add(h.reason, h.field);
      }
    },
  });
  return { total: counter.total, reasons: counter.reasons, close: running.stop };
}
