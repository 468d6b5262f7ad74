import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import {
  fixKafkajsRequestQueueSpin,
  kafkaLogLevelFor,
  repeatLimiter,
  silenceKafkajsTimeoutWarning,
} from '../../../../../lib/platform/kafka/client.ts';

const require = createRequire(import.meta.url);
const RequestQueue = require('kafkajs/src/network/requestQueue/index.js') as {
  prototype: { scheduleCheckPendingRequests(this: object): void };
};

/** The fields scheduleCheckPendingRequests reads and writes, on a bare object. */
function queue(pending: unknown[], throttledUntil: number) {
  return {
    pending,
    throttledUntil,
    throttleCheckTimeoutId: null as unknown,
    checkPendingRequests: () => undefined,
  };
}

describe('kafkajs request-queue spin fix', () => {
  fixKafkajsRequestQueueSpin();
  fixKafkajsRequestQueueSpin(); // installing twice must not wrap twice

  it('arms no timer when nothing is pending and nothing is throttled', () => {
    const q = queue([], -1);
    RequestQueue.prototype.scheduleCheckPendingRequests.call(q);
    expect(q.throttleCheckTimeoutId).toBeNull();
  });

  it('still schedules the check when requests wait, or while throttled', () => {
    const waiting = queue([{}], -1);
    RequestQueue.prototype.scheduleCheckPendingRequests.call(waiting);
    expect(waiting.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(waiting.throttleCheckTimeoutId as NodeJS.Timeout);
    const throttled = queue([], Date.now() + 60_000);
    RequestQueue.prototype.scheduleCheckPendingRequests.call(throttled);
    expect(throttled.throttleCheckTimeoutId).not.toBeNull();
    clearTimeout(throttled.throttleCheckTimeoutId as NodeJS.Timeout);
  });
});

describe('kafka client helpers', () => {
  it('maps pino levels to kafkajs levels', () => {
    expect(kafkaLogLevelFor('debug')).toBe(5);
    expect(kafkaLogLevelFor('info')).toBe(4);
    expect(kafkaLogLevelFor('warn')).toBe(2);
    expect(kafkaLogLevelFor('error')).toBe(1);
    expect(kafkaLogLevelFor('silent')).toBe(0);
  });

  it('drops TimeoutNegativeWarning only when kafkajs raised it', async () => {
    silenceKafkajsTimeoutWarning();
    silenceKafkajsTimeoutWarning(); // idempotent
    const seen: string[] = [];
    const onWarning = (w: Error) => seen.push(w.name);
    process.on('warning', onWarning);
    try {
      // Raised from our own code: must still be reported.
      process.emitWarning('-5 is a negative number', 'TimeoutNegativeWarning');
      process.emitWarning('something else', 'OtherWarning');
      await new Promise((r) => setImmediate(r));
      expect(seen).toEqual(['TimeoutNegativeWarning', 'OtherWarning']);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('repeatLimiter', () => {
  it('lets a repeated line through once per window and counts what it held back', () => {
    let now = 0;
    const limit = repeatLimiter(5_000, () => now);
    expect(limit('Connection|refused')).toEqual({ pass: true, held: 0 });
    expect(limit('Connection|refused').pass).toBe(false);
    expect(limit('Connection|refused').pass).toBe(false);
    expect(limit('Consumer|crash').pass).toBe(true);
    now = 5_000;
    expect(limit('Connection|refused')).toEqual({ pass: true, held: 2 });
  });
});
