import { describe, expect, it } from 'vitest';
import type { SqlRunner } from '../../../../lib/platform/clickhouse/client.ts';
import { trainingGate } from '../../../../producers/replay/gate.ts';

interface Store {
  predicted: string;
  labeledFrom: string;
  labeledUntil: string;
  labels: number;
  until: string | null;
}

/** The gate reads a few figures of the deployment's tables; this runner serves them from a variable. */
function runner(s: Store): SqlRunner {
  return {
    command: async () => undefined,
    rows: async <T>() =>
      [
        {
          predicted: s.predicted,
          labeled_from: s.labeledFrom,
          labeled_until: s.labeledUntil,
          labels: String(s.labels),
          trained_until: s.until ?? '1970-01-01',
          runs: s.until === null ? '0' : '1',
        },
      ] as T[],
  };
}

const noop = async () => undefined;

describe('trainingGate', () => {
  it('holds the replay to the lead once the labels allow a run, after flushing', async () => {
    const store: Store = {
      predicted: '2010-01-30',
      labeledFrom: '2010-01-01',
      labeledUntil: '2010-01-29',
      labels: 100,
      until: null,
    };
    const gate = trainingGate(runner(store), 14, { intervalMs: 1 });
    await gate('2010-01-01', null, noop);
    let flushed = 0;
    // 2010-01-31 needs a run on data up to 2010-01-17; the labels allow runs up to the 2010-01-25 boundary.
    const waiting = gate('2010-01-31', '2010-01-30', async () => {
      flushed++;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(flushed).toBe(1);
    store.until = '2010-01-17';
    await waiting;
  });

  it('waits for the pipeline to predict what was sent before judging the labels', async () => {
    const store: Store = {
      predicted: '2010-01-10',
      labeledFrom: '2010-01-01',
      labeledUntil: '2010-01-09',
      labels: 40,
      until: null,
    };
    const gate = trainingGate(runner(store), 14, { intervalMs: 1 });
    let done = false;
    const waiting = gate('2010-01-31', '2010-01-30', noop).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(done).toBe(false);
    store.predicted = '2010-01-30';
    store.labeledUntil = '2010-01-29';
    store.until = '2010-01-17';
    await waiting;
  });

  it('does not wait for a run the labels cannot produce: a hole in the data', async () => {
    // No April 2011 in the file: after March 31 the next day sent is May 1, which has no label yet.
    const store: Store = {
      predicted: '2011-05-01',
      labeledFrom: '2009-01-01',
      labeledUntil: '2011-03-30',
      labels: 9e4,
      until: '2011-03-27',
    };
    const gate = trainingGate(runner(store), 14, { intervalMs: 1, timeoutMs: 50 });
    await expect(gate('2011-05-02', '2011-05-01', noop)).resolves.toBeUndefined();
  });

  it('fails loudly when the retraining never catches up', async () => {
    const store: Store = {
      predicted: '2010-03-01',
      labeledFrom: '2010-01-01',
      labeledUntil: '2010-02-28',
      labels: 300,
      until: '2010-01-03',
    };
    const gate = trainingGate(runner(store), 14, { intervalMs: 1, timeoutMs: 20 });
    await expect(gate('2010-03-02', '2010-03-01', noop)).rejects.toThrow(/did not reach/);
  });
});
