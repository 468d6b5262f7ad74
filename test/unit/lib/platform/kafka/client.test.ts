import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { fixKafkajsRequestQueueSpin } from '../../../../../lib/platform/kafka/client.ts';

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
