import { describe, expect, it } from 'vitest';
import type { SqlRunner } from '../../../lib/clickhouse/client.ts';
import { trainingGate } from '../../../producers/replay.ts';

/** The gate reads one figure, the latest training run's data end; this runner serves it from a variable. */
function runner(state: { until: string | null }): SqlRunner {
  return {
    command: async () => undefined,
    rows: async <T>() => [{ until: state.until ?? '1970-01-01', n: state.until === null ? '0' : '1' }] as T[],
  };
}

describe('trainingGate', () => {
  it('lets the first weeks through before any run, then holds the replay to the lead', async () => {
    const state = { until: null as string | null };
    const gate = trainingGate(runner(state), 14, { intervalMs: 1 });
    let flushed = 0;
    const flush = async () => {
      flushed++;
    };
    await gate('2010-01-01', null, flush);
    await gate('2010-01-15', '2010-01-14', flush);
    expect(flushed).toBe(0);
    // 2010-01-16 needs a run on data up to 2010-01-02: it waits (after flushing) until one exists.
    const waiting = gate('2010-01-16', '2010-01-15', flush);
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toBe(1);
    state.until = '2010-01-03';
    await waiting;
  });

  it('measures the lead from the days already sent across a hole in the data', async () => {
    const state = { until: '2011-03-27' as string | null };
    const gate = trainingGate(runner(state), 14, { intervalMs: 1 });
    await gate('2010-01-01', null, async () => undefined);
    // No April 2011 in the file: May 1 follows March 31. The retraining cannot get past March, so
    // the gate asks for data up to March 18 (April 1 - 14), which it has, instead of April 17.
    await expect(gate('2011-05-01', '2011-03-31', async () => undefined)).resolves.toBeUndefined();
  });

  it('fails loudly when the retraining never catches up', async () => {
    const gate = trainingGate(runner({ until: '2010-01-01' }), 14, { intervalMs: 1, timeoutMs: 20 });
    await gate('2010-01-01', null, async () => undefined);
    await expect(gate('2010-03-01', '2010-02-28', async () => undefined)).rejects.toThrow(/did not reach/);
  });
});
