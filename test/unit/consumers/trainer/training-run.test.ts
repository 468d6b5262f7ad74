import { afterAll, describe, expect, it } from 'vitest';
import type { LabeledExample } from '../../../../lib/domain/events.ts';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import { TrainingPool } from '../../../../lib/ml/worker-pool.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { LabeledHistory } from '../../../../consumers/trainer/labeled-history.ts';
import { runTraining, versionOf } from '../../../../consumers/trainer/training-run.ts';
import { priorChampion } from '../../../../lib/models/champion.ts';

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
  });

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
});
