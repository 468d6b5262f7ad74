import { describe, expect, it } from 'vitest';
import { catchUpTracker } from '../../../../consumers/shell/catch-up.ts';

describe('catchUpTracker', () => {
  it('is caught up once every partition was read to its end, markers included', async () => {
    const tracker = catchUpTracker(
      new Map([
        [0, 10n],
        [1, 5n],
      ]),
    );
    expect(tracker.isCaughtUp()).toBe(false);
    tracker.onProgress({ partition: 0, lastOffset: 8n });
    tracker.onProgress({ partition: 1, lastOffset: 4n });
    expect(tracker.isCaughtUp()).toBe(false);
    // The last offset of partition 0 is a commit marker: the batch that covered it counts.
    tracker.onProgress({ partition: 0, lastOffset: 9n });
    expect(tracker.isCaughtUp()).toBe(true);
    await expect(tracker.caughtUp).resolves.toBeUndefined();
  });

  it('needs nothing for empty partitions or an empty topic', async () => {
    expect(catchUpTracker(new Map([[0, 0n]])).isCaughtUp()).toBe(true);
    expect(catchUpTracker(new Map([[0, 7n]]), new Map([[0, 7n]])).isCaughtUp()).toBe(true);
    await expect(catchUpTracker(new Map()).caughtUp).resolves.toBeUndefined();
  });

  it('ignores progress on partitions it does not track', () => {
    const tracker = catchUpTracker(new Map([[0, 3n]]));
    tracker.onProgress({ partition: 5, lastOffset: 100n });
    expect(tracker.isCaughtUp()).toBe(false);
  });
});
