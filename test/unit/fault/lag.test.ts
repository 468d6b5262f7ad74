import { describe, expect, it } from 'vitest';
import { caughtUpAfter, firstProgressAfter, type LagSample } from '../../fault/lag.ts';

const STAGES = ['features', 'predictor', 'labeler'];
const sample = (at: number, committed: number, ends: number): LagSample => ({
  at,
  lag: Object.fromEntries(STAGES.map((s) => [s, ends - committed])),
  committed: Object.fromEntries(STAGES.map((s) => [s, committed])),
  ends: Object.fromEntries(STAGES.map((s) => [s, ends])),
});

describe('firstProgressAfter', () => {
  it('measures a takeover from the first sample after the fault, not from an older one before it', () => {
    // Sampled at 0 and (a busy machine) not again until 1,400; the process committed up to 500 and was
    // killed at 1,000; its successor commits from 7,000 on.
    const samples = [
      sample(0, 100, 600),
      sample(1_400, 500, 700),
      sample(4_000, 500, 900),
      sample(7_000, 650, 1_000),
      sample(7_500, 1_000, 1_000),
    ];
    expect(firstProgressAfter(samples, 1_000)?.at).toBe(7_000);
    expect(caughtUpAfter(samples, 1_000, 10)?.at).toBe(7_500);
  });

  it('counts an idle pipeline with nothing new to read as progressing', () => {
    const samples = [sample(0, 1_000, 1_000), sample(300, 1_000, 1_000), sample(600, 1_000, 1_000)];
    expect(firstProgressAfter(samples, 100)?.at).toBe(600);
  });

  it('finds nothing when no sample follows the fault', () => {
    expect(firstProgressAfter([sample(0, 1, 1)], 100)).toBeUndefined();
  });
});
