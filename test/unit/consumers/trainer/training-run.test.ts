import { parseDriftReference } from '../../../../lib/ml/reference.ts';
import { afterAll, describe, expect, it } from 'vitest';
import type { LabeledExample } from '../../../../lib/domain/events.ts';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import { TrainingPool } from '../../../../lib/ml/worker-pool.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { LabeledHistory } from '../../../../consumers/trainer/labeled-history.ts';
import { backgroundRefit, runTraining, versionOf } from '../../../../consumers/trainer/training-run.ts';
import { championFromStored, priorChampion, type Champion } from '../../../../lib/models/champion.ts';
import type { ModelRecord } from '../../../../lib/models/registry.ts';
import { TASKS } from '../../../../lib/models/tasks.ts';

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
        task: 'rain',
        target: null,
        value: null,
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
    const championOf = (r: ModelRecord): Champion => championFromStored(r);
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

    it('trains a scheduled refit beside the stream and scores it in the first run after it finished', async () => {
      const refitPool = new TrainingPool({ size: 1 });
      try {
        const h = history(440);
        const opts = { ...common, history: h, refitEveryWeeks: 2, refitPool };
        const first = await runTraining({ ...opts, due: dueOf('2010-12-27'), champion: priorChampion() });
        // Nothing to continue: the first fit is in the run, whatever the pool.
        expect(first.mode).toBe('full');
        const champion = championOf(first.records.find((r) => r.version === first.winnerVersion)!);
        const second = await runTraining({ ...opts, due: dueOf('2011-01-03'), champion });
        expect(second.mode).toBe('warm');
        expect(backgroundRefit(h)).toBeNull();

        const third = await runTraining({ ...opts, due: dueOf('2011-01-10'), champion });
        // Due by the schedule: the run stays warm and the refit goes to the other worker.
        expect(third.mode).toBe('warm');
        expect(third.reason).toMatch(/full refit of 2011-01-10 started beside the stream/);
        expect(Object.values(third.training!).every((t) => t.mode === 'warm')).toBe(true);
        expect(backgroundRefit(h)?.week).toBe('2011-01-10');
        while (!backgroundRefit(h)?.finished) await new Promise((r) => setTimeout(r, 20));

        const fourth = await runTraining({ ...opts, due: dueOf('2011-01-17'), champion });
        expect(fourth.reason).toMatch(/scored the full refit of 2011-01-10/);
        expect(backgroundRefit(h)).toBeNull();
        for (const family of ['climatology', 'logreg', 'gbdt']) {
          expect(fourth.training![`${family}-refit`]).toMatchObject({ mode: 'full', rows: third.trainRows });
          // Scored on this run's validation weeks, beside the warm candidates.
          expect(fourth.decision!.table.map((r) => r.name)).toContain(`${family}-refit`);
        }
        const refitRecord = fourth.records.find((r) => r.version === 'logreg-refit-2011-01-10')!;
        // It learned what the run that started it saw, not what this run sees.
        expect(refitRecord).toMatchObject({ trainEnd: '2011-01-09', rows: third.trainRows });
        expect(refitRecord.bundle.clip).not.toEqual(
          first.records.find((r) => r.family === 'logreg')!.bundle.clip,
        );

        // The refit restarts its family's warm chain (unless another of its candidates won).
        const fifth = await runTraining({ ...opts, due: dueOf('2011-01-24'), champion });
        const logregWinner = fourth.winnerVersion?.startsWith('logreg') ? fourth.winnerVersion : null;
        expect(fifth.training!.logreg!.base).toBe(logregWinner ?? 'logreg-refit-2011-01-10');
        // The refit restarted the schedule: two weeks after it, the next is due again.
        expect(fifth.reason).toMatch(/full refit of 2011-01-24 started beside the stream/);
      } finally {
        await refitPool.close();
      }
    }, 60_000);

    it('keeps the drift reference of the model a promoted warm start continues, for a few weeks', async () => {
      const h = history(440);
      const opts = {
        ...common,
        candidates: [{ family: 'logreg', params: {}, minRows: 100 }],
        history: h,
        referenceRefreshWeeks: 2,
      };
      const first = await runTraining({ ...opts, due: dueOf('2010-12-27'), champion: priorChampion() });
      const firstWinner = first.records.find((r) => r.version === first.winnerVersion)!;
      expect(firstWinner.reference).not.toBeNull();
      // The prior as champion: every week's warm logreg beats it and is promoted.
      const weeks = ['2011-01-03', '2011-01-10', '2011-01-17'];
      const winners: ModelRecord[] = [];
      for (const week of weeks) {
        const run = await runTraining({ ...opts, due: dueOf(week), champion: priorChampion() });
        expect(run.mode).toBe('warm');
        expect(run.decision!.promote).toBe(true);
        winners.push(run.records.find((r) => r.version === run.winnerVersion)!);
      }
      // One week after: the reference it continues. Two weeks after: computed again, and kept from then.
      expect(winners[0]!.reference).toBe(firstWinner.reference);
      expect(winners[1]!.reference).not.toBe(firstWinner.reference);
      expect(winners[1]!.reference).not.toBeNull();
      expect(winners[2]!.reference).toBe(winners[1]!.reference);
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

  describe('a regression task (max_temp)', () => {
    /** Next-day MaxTemp from today's, over stations of different climates. */
    function temperatures(days: number, stations = 4): LabeledHistory {
      const h = new LabeledHistory(FEATURE_NAMES, 4096, 'regression');
      const maxTemp = FEATURE_NAMES.indexOf('maxTemp');
      const loc = FEATURE_NAMES.indexOf('locationCode');
      let seed = 11;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let d = 0; d < days; d++) {
        const date = addDays('2010-01-04', d);
        for (let s = 0; s < stations; s++) {
          const values = new Array<number>(FEATURE_NAMES.length).fill(0);
          const today = 12 + 5 * s + 6 * Math.sin(d / 58) + random() * 4;
          values[maxTemp] = today;
          values[loc] = s;
          h.add({
            task: 'max_temp',
            location: `S${s}`,
            date,
            featureSetVersion: 'fs1',
            values,
            label: false,
            // Tomorrow's maximum reverts halfway to the station's normal: a model beats persistence.
            target: 0.5 * today + 0.5 * (14 + 5 * s) + (random() - 0.5) * 2,
            value: null,
            rainfallNext: null,
            probability: 0,
            modelVersion: 'prior-persistence',
          });
        }
      }
      return h;
    }
    const task = TASKS.max_temp;
    const families = task.families.map((f) =>
      f.family === 'gbdt' ? { ...f, params: { ...f.params, maxIterations: 20 } } : f,
    );
    const common = { pool, task, candidates: families, threshold: 0.5, minRows: 200, codeVersion: 'test' };
    const dueOf = (week: string) => ({ week, coalescedWeeks: 1, dataUntil: addDays(week, -1), staleness: 7 });

    it('scores R² on the window, gates at 0.7 and above the champion, and registers the task', async () => {
      const h = temperatures(420);
      const first = await runTraining({
        ...common,
        history: h,
        due: dueOf('2010-12-27'),
        champion: priorChampion(task),
      });
      expect(first.status).toBe('trained');
      expect(first.decision!.champion!.name).toBe('champion@prior-persistence');
      expect(first.decision!.promote).toBe(true);
      expect(first.winnerVersion).toMatch(/^max_temp-(linreg|gbdt|forest)-2010-12-27$/);
      for (const r of first.records) {
        expect(r.task).toBe('max_temp');
        expect(r.positives).toBe(0);
        // Only the promoted winner pays for a drift reference, as rain's does.
        if (r.version !== first.winnerVersion) expect(r.reference).toBeNull();
        expect(r.metrics).toMatchObject({ task: 'regression' });
        expect(r.bundle.model.task).toBe('regression');
      }
      const winner = first.records.find((r) => r.version === first.winnerVersion)!;
      // Its reference watches the features like rain's, and holds validation errors instead of probabilities.
      const reference = parseDriftReference(winner.reference);
      expect(reference.prediction).toBeNull();
      expect(reference.performance).toBeNull();
      expect(reference.errors!.rmse).toBeCloseTo((winner.metrics as { rmse: number }).rmse, 4);
      expect(reference.columns.length).toBeGreaterThan(0);
      expect((winner.metrics as { r2: number }).r2).toBeGreaterThanOrEqual(0.7);
      expect(first.decision!.reasons.join(' ')).toMatch(/reaches the regression minimum 0.7000/);

      // The week after: every family continues its model, ridge on the new week's rows only.
      const champion = championFromStored(winner, TASKS.max_temp);
      const second = await runTraining({ ...common, history: h, due: dueOf('2011-01-03'), champion });
      expect(second.mode).toBe('warm');
      expect(second.training!.linreg).toMatchObject({ mode: 'warm', rows: 28 });
      expect(second.training!.gbdt).toMatchObject({ mode: 'warm' });
      expect(second.training!.forest).toMatchObject({ mode: 'warm' });
      // Strictly better than the champion, or not promoted: a tie keeps the champion.
      const champ = second.decision!.champion!;
      if (second.decision!.promote) expect(second.decision!.winner!.primary).toBeGreaterThan(champ.primary);
    }, 60_000);

    it('skips a window whose targets do not vary, saying why', async () => {
      const h = new LabeledHistory(FEATURE_NAMES, 4096, 'regression');
      for (let d = 0; d < 200; d++) {
        h.add({
          task: 'max_temp',
          location: 'S0',
          date: addDays('2010-01-04', d),
          featureSetVersion: 'fs1',
          values: FEATURE_NAMES.map(() => d),
          label: false,
          target: 20,
          value: null,
          rainfallNext: null,
          probability: 0,
          modelVersion: 'prior-persistence',
        });
      }
      const result = await runTraining({
        ...common,
        minRows: 10,
        history: h,
        due: dueOf('2010-07-19'),
        champion: priorChampion(task),
      });
      expect(result).toMatchObject({
        status: 'skipped',
        reason: 'validation window has no spread of targets',
      });
    });
  });
});
