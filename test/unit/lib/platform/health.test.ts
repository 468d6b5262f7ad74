import { describe, expect, it } from 'vitest';
import { createHealth, reporterOf } from '../../../../lib/platform/health.ts';

describe('health', () => {
  it('is ready when every component is, and says what the others wait for', () => {
    let now = 1_000;
    const health = createHealth(() => now);
    health.set('stage:features', true);
    const report = reporterOf(health, 'stage:predictor');
    report(false, 'CLICKHOUSE: connect ECONNREFUSED');
    expect(health.snapshot()).toEqual({
      ready: false,
      components: {
        'stage:features': { ready: true, since: 1_000 },
        'stage:predictor': { ready: false, reason: 'CLICKHOUSE: connect ECONNREFUSED', since: 1_000 },
      },
    });
    now = 5_000;
    report(false, 'still down');
    expect(health.snapshot().components['stage:predictor']!.since).toBe(1_000);
    report(true);
    expect(health.snapshot()).toMatchObject({
      ready: true,
      components: { 'stage:predictor': { since: 5_000 } },
    });
  });

  it('lets a component go', () => {
    const health = createHealth();
    health.set('x', false, 'starting');
    health.remove('x');
    expect(health.snapshot().ready).toBe(true);
  });
});
