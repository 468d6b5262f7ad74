/**
 * The labeled history of the whole weatherAUS file as the trainer holds it (consumers/trainer/
 * labeled-history.ts), built offline with the streaming features step and the next-day label join
 * (lib/domain/features/matrix.ts), rows in date order, so a benchmark can replay weekly retraining
 * without the stack.
 */
import type { LabeledExample } from '../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import { buildTrainingMatrix } from '../../lib/domain/features/matrix.ts';
import { readWeatherCsvFile } from '../../lib/domain/weather/csv.ts';

export interface OfflineLabeled {
  /** Examples sorted by (date, location): the order the labeled topic roughly delivers them in. */
  readonly examples: LabeledExample[];
}

export async function offlineLabeledExamples(dataFile: string): Promise<OfflineLabeled> {
  const rows = await readWeatherCsvFile(dataFile);
  const observations = rows.flatMap((r) => (r.ok ? [r.observation] : []));
  const m = buildTrainingMatrix(observations);
  const n = m.dataset.nRows;
  const d = FEATURE_NAMES.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
    m.dates[a]! < m.dates[b]!
      ? -1
      : m.dates[a]! > m.dates[b]!
        ? 1
        : m.locations[a]!.localeCompare(m.locations[b]!),
  );
  const examples = order.map((r): LabeledExample => {
    const values = new Array<number>(d);
    for (let c = 0; c < d; c++) values[c] = m.dataset.data[c * n + r]!;
    return {
      location: m.locations[r]!,
      date: m.dates[r]!,
      featureSetVersion: FEATURE_SET_VERSION,
      values,
      label: m.target[r] === 1,
      rainfallNext: null,
      task: 'rain',
      target: null,
      value: null,
      probability: 0.2,
      modelVersion: 'prior-climatology',
    };
  });
  return { examples };
}
