import { afterAll, describe, expect, it } from 'vitest';
import type { LabeledExample } from '../../../../lib/domain/events.ts';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import { TrainingPool } from '../../../../lib/ml/worker-pool.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { LabeledHistory } from '../../../../consumers/trainer/labeled-history.ts';
import { runTraining, versionOf } from '../../../../consumers/trainer/training-run.ts';
import { priorChampion, type Champion } from '../../../../lib/models/champion.ts';
import { loadModel } from '../../../../lib/ml/families.ts';
import type { ModelRecord } from '../../../../lib/models/registry.ts';

/** A history where humidity3pm decides the label (with noise), so a trained model beats the prior. */
function history(days: number, stations = 4): LabeledHistory {
  const h = new LabeledHistory(FEATURE_NAMES);
  const humidity = FEATURE_NAMES.indexOf('humidity3pm');
  const loc = FEATURE_NAMES.indexOf('locationCode');
  const month = FEATURE_NAMES.indexOf('month');
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let d = 0; d < days; d++) {
    const date = addDays('2010-01-04', d);
    for (let s = 0; s < stations; s++) {
      const values = new Array<number>(FEATURE_NAMES.length).fill(0);
      values[humidity] = random() * 100;
      values[loc] = s;
      values[month] = Number(date.slice(5, 7));
      const example: LabeledExample = {
        location: `S${s}`,
        date,
        featureSetVersion: 'fs1',
        values,
        label: values[humidity]! + random() * 30 > 80,
        rainfallNext: null,
        probability: 0.2,
        modelVersion: 'prior-climatology',
      };
      h.add(example);
    }
  }
  return h;
}

describe('runTraining', () => {
  const pool = new TrainingPool({ size: 1 });
  afterAll(() => pool.close());
  const due = { week: '2010-12-27', coalescedWeeks: 1, dataUntil: '2010-12-26', staleness: null };

  it('trains the candidates, picks one on the validation window and registers every one of them', async () => {
    const result = await runTraining({
      pool,
      history: history(400),
      due,
      champion: priorChampion(),
      candidates: [
        { family: 'climatology', params: {}, minRows: 1 },
        { family: 'logreg', params: {}, minRows: 100 },
      ],
      threshold: 0.5,
      minRows: 200,
      codeVersion: 'test',
      clock: () => 1_700_000_000_000,
    });
    expect(result.status).toBe('trained');
    // 8 validation weeks before the boundary, everything earlier to train on.
    expect(result.validationRows).toBe(8 * 7 * 4);
    expect(result.trainRows).toBe((357 - 56) * 4);
    expect(result.winnerVersion).toBe(versionOf('logreg', due.week));
    expect(result.decision?.promote).toBe(true);
    expect(result.records.map((r) => r.version).sort()).toEqual([
      'climatology-2010-12-27',
      'logreg-2010-12-27',
    ]);
    const winner = result.records.find((r) => r.version === result.winnerVersion)!;
    expect(winner.trainEnd).toBe('2010-12-26');
    expect(winner.bundle.clip).not.toBeNull();
    expect(winner.reference).not.toBeNull();
    expect(result.records.find((r) => r.family === 'climatology')!.reference).toBeNull();
    // The worker boots inside this test; on a loaded machine that alone can take seconds.
  }, 60_000);

  it('skips a week with too few rows and says why', async () => {
    const result = await runTraining({
      pool,
      history: history(70),
      due: { ...due, week: '2010-03-15', dataUntil: '2010-03-14' },
      champion: priorChampion(),
      threshold: 0.5,
      minRows: 2000,
      codeVersion: 'test',
    });
    expect(result).toMatchObject({ status: 'skipped', records: [], winnerVersion: null });
    expect(result.reason).toMatch(/training rows < 2000/);
  });

  describe('incremental training', () => {
    const candidates = [
      { family: 'climatology', params: {}, minRows: 1 },
      { family: 'logreg', params: {}, minRows: 100 },
      {
        family: 'gbdt',
        params: { maxIterations: 20 },
        minRows: 100,
        warm: { trees: 3 },
        warmRows: { weeks: 4 },
      },
    ];
    const championOf = (r: ModelRecord): Champion => ({
      version: r.version,
      family: r.family,
      featureSetVersion: r.featureSetVersion,
      model: loadModel(r.bundle.model, FEATURE_NAMES),
      clip: r.bundle.clip,
      trainedUntil: r.trainEnd,
    });
    const dueOf = (week: string) => ({ week, coalescedWeeks: 1, dataUntil: addDays(week, -1), staleness: 7 });
    const common = { pool, candidates, threshold: 0.5, minRows: 200, codeVersion: 'test', clock: () => 1 };

    it('refits first, continues each family on the new weeks after, and refits on schedule or when asked', async () => {
      const h = history(420);
      const first = await runTraining({
        ...common,
        history: h,
        due: dueOf('2010-12-27'),
        champion: priorChampion(),
      });
      expect(first.mode).toBe('full');
      expect(first.modeReason).toMatch(/no model to continue/);
      expect(first.training!.logreg).toMatchObject({ mode: 'full', rows: first.trainRows });
      const winner1 = first.records.find((r) => r.version === first.winnerVersion)!;
      expect(first.decision!.promote).toBe(true);

      const second = await runTraining({
        ...common,
        history: h,
        due: dueOf('2011-01-03'),
        champion: championOf(winner1),
        refitEveryWeeks: 2,
      });
      expect(second.mode).toBe('warm');
      // Counts and the Bayesian update take exactly the week the models had not learned: 7 days x 4 stations.
      expect(second.training!.logreg).toMatchObject({ mode: 'warm', rows: 28, base: 'logreg-2010-12-27' });
      expect(second.training!.climatology).toMatchObject({ mode: 'warm', rows: 28 });
      // The gbdt continues on the last 4 weeks of training rows.
      expect(second.training!.gbdt).toMatchObject({ mode: 'warm', rows: 4 * 28 });
      expect(second.trainRows).toBe(first.trainRows + 28);
      const record = second.records.find((r) => r.family === 'logreg')!;
      expect(record.metrics.training).toMatchObject({ mode: 'warm', rows: 28 });
      expect(record.bundle.clip).toEqual(first.records.find((r) => r.family === 'logreg')!.bundle.clip);
      expect(second.decision!.table.find((r) => r.name === 'logreg')!.training).toMatchObject({
        mode: 'warm',
      });
      for (const t of Object.values(second.training!)) expect(t.artifactBytes).toBeGreaterThan(0);

      const champion2 = second.decision!.promote
        ? championOf(second.records.find((r) => r.version === second.winnerVersion)!)
        : championOf(winner1);
      const third = await runTraining({
        ...common,
        history: h,
        due: dueOf('2011-01-10'),
        champion: champion2,
        refitEveryWeeks: 2,
      });
      expect(third.mode).toBe('full');
      expect(third.modeReason).toMatch(/scheduled: 2 weeks since the refit of 2010-12-27/);
      // The warm-started champion competes beside the refits.
      const warmName = `${champion2.family}-warm`;
      expect(third.training![warmName]).toMatchObject({ mode: 'warm', base: champion2.version });
      expect(third.records.map((r) => r.version)).toContain(`${champion2.family}-warm-2011-01-10`);

      const fourth = await runTraining({
        ...common,
        history: h,
        due: dueOf('2011-01-17'),
        champion: champion2,
        refit: { full: true, reason: 'drift incident 7' },
      });
      expect(fourth.mode).toBe('full');
      expect(fourth.modeReason).toBe('refit asked: drift incident 7');
      expect(fourth.reason).toMatch(/^full run \(refit asked: drift incident 7\)/);
    }, 60_000);

    it('limits a full refit to the training window when one is set', async () => {
      const h = history(420);
      const result = await runTraining({
        ...common,
        history: h,
        due: dueOf('2010-12-27'),
        champion: priorChampion(),
        windowWeeks: 20,
      });
      expect(result.trainRows).toBe(20 * 28);
      expect(result.trainStart).toBe(addDays('2010-12-27', -7 * 28));
    });
  });
});
