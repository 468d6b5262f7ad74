import { describe, expect, it } from 'vitest';
import { trainingRunRow } from '../../../../consumers/trainer/rows.ts';

const due = { week: '2016-02-22', coalescedWeeks: 1, dataUntil: '2016-02-21', staleness: 7 };

describe('training run rows', () => {
  it('records a promoted run with its candidates and reasons', () => {
    const row = trainingRunRow(
      due,
      {
        status: 'trained',
        reason: 'gbdt beats the champion',
        records: [],
        decision: {
          winner: null,
          promote: true,
          reasons: ['gbdt beats the champion'],
          table: [],
          champion: null,
        },
        winnerVersion: 'gbdt-2016-02-22',
        trainRows: 90_000,
        validationRows: 2_700,
        trainStart: '2008-12-01',
      },
      1_700_000_000_000,
      1_700_000_000_400,
    );
    expect(row).toMatchObject({
      run_id: 'week-2016-02-22',
      week: '2016-02-22',
      data_until: '2016-02-21',
      rows: 90_000,
      winner: 'gbdt-2016-02-22',
      promoted: 1,
      reasons: JSON.stringify(['gbdt beats the champion']),
      staleness_days: 7,
      coalesced_weeks: 1,
      requested_by: 'schedule',
      command_id: '',
      request_reason: '',
      seconds: 0.4,
      started_at: 1_700_000_000,
      finished_at: 1_700_000_000,
      ver: 1_700_000_000_400_000,
    });
  });

  it('records a skipped run with its reason and no winner, and -1 for an unknown staleness', () => {
    const row = trainingRunRow(
      { ...due, staleness: null },
      {
        status: 'skipped',
        reason: '120 training rows < 2000',
        records: [],
        decision: null,
        winnerVersion: null,
        trainRows: 120,
        validationRows: 0,
        trainStart: null,
      },
      0,
      1000,
    );
    expect(row).toMatchObject({
      winner: '',
      promoted: 0,
      reasons: '120 training rows < 2000',
      staleness_days: -1,
    });
  });

  it("records a command's run under the command id, with who asked and why", () => {
    const row = trainingRunRow(
      {
        ...due,
        coalescedWeeks: 0,
        dataUntil: '2016-02-24',
        command: { id: 'drift:inc-1', reason: 'pressure shift at Sydney', requestedBy: 'drift' },
      },
      {
        status: 'skipped',
        reason: 'no labeled rows yet',
        records: [],
        decision: null,
        winnerVersion: null,
        trainRows: 0,
        validationRows: 0,
        trainStart: null,
      },
      0,
      2500,
    );
    expect(row).toMatchObject({
      run_id: 'command-drift:inc-1',
      data_until: '2016-02-24',
      coalesced_weeks: 0,
      requested_by: 'drift',
      command_id: 'drift:inc-1',
      request_reason: 'pressure shift at Sydney',
      seconds: 2.5,
    });
  });
});
