import { describe, expect, it } from 'vitest';
import { planResume } from '../../../../consumers/shell/resume.ts';

describe('planResume', () => {
  it('goes on from the committed offset when the state marker equals it', () => {
    expect(planResume(120n, 120n, 0n)).toEqual({ kind: 'in-step', from: 120n, until: 120n, fresh: false });
  });

  it('re-applies to the state what was committed after the last state write', () => {
    expect(planResume(100n, 120n, 0n)).toEqual({ kind: 'catch-up', from: 100n, until: 120n, fresh: false });
  });

  it('rebuilds from the start of the log when Redis lost the state', () => {
    expect(planResume(null, 120n, 0n)).toEqual({ kind: 'rebuild', from: 0n, until: 120n, fresh: true });
  });

  it('rebuilds, ignoring Redis, when the state is ahead of what Kafka committed', () => {
    expect(planResume(150n, 120n, 0n)).toEqual({ kind: 'rebuild', from: 0n, until: 120n, fresh: true });
  });

  it('has nothing to do on a partition the group never committed on', () => {
    expect(planResume(null, null, 0n)).toEqual({ kind: 'in-step', from: 0n, until: 0n, fresh: false });
    expect(planResume(40n, null, 0n)).toEqual({ kind: 'in-step', from: 0n, until: 0n, fresh: false });
  });

  it('rebuilds from what the log still holds when the marker points before it', () => {
    expect(planResume(5n, 120n, 10n)).toEqual({ kind: 'rebuild', from: 10n, until: 120n, fresh: true });
    expect(planResume(null, 10n, 10n)).toEqual({ kind: 'in-step', from: 10n, until: 10n, fresh: false });
  });
});
