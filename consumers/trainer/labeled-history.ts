/**
 * The trainer's labeled history of one task: every labeled example of the log, in memory as one growing
 * row-major Float64Array (about 145k rows x 47 features = 55 MB at full replay). It is a materialization
 * of the labeled topic, rebuilt by reading that topic from the beginning at start. Keyed by (location,
 * date), so an example delivered twice occupies one row. The target is the label (0/1) of a
 * classification task, the example's `target` value of a regression task.
 */
import type { LabeledExample } from '../../lib/domain/events.ts';
import type { Dataset } from '../../lib/ml/model.ts';

export class LabeledHistory {
  readonly featureNames: readonly string[];
  readonly dates: string[] = [];
  readonly locations: string[] = [];
  private values: Float64Array;
  private labels: Float64Array;
  private readonly rowOf = new Map<string, number>();
  private rows = 0;

  readonly type: 'classification' | 'regression';

  constructor(
    featureNames: readonly string[],
    capacity = 4096,
    type: 'classification' | 'regression' = 'classification',
  ) {
    this.type = type;
    this.featureNames = featureNames;
    this.values = new Float64Array(capacity * featureNames.length);
    this.labels = new Float64Array(capacity);
  }

  get size(): number {
    return this.rows;
  }

  /**
   * Adds or replaces the example of (location, date). Returns false when its width is wrong, or when a
   * regression example has no finite target.
   */
  add(example: LabeledExample): boolean {
    const width = this.featureNames.length;
    if (example.values.length !== width) return false;
    const target = this.type === 'regression' ? (example.target ?? NaN) : example.label ? 1 : 0;
    if (!Number.isFinite(target)) return false;
    const key = `${example.location}|${example.date}`;
    let row = this.rowOf.get(key);
    if (row === undefined) {
      row = this.rows++;
      if (row >= this.labels.length) this.grow();
      this.rowOf.set(key, row);
      this.dates.push(example.date);
      this.locations.push(example.location);
    }
    this.values.set(example.values, row * width);
    this.labels[row] = target;
    return true;
  }

  /** Column-major dataset and targets of the given rows (the layout every learner takes). */
  slice(rows: ArrayLike<number>): { data: Dataset; target: Float64Array } {
    const width = this.featureNames.length;
    const n = rows.length;
    const data = new Float64Array(n * width);
    const target = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const r = rows[i]!;
      const base = r * width;
      for (let j = 0; j < width; j++) data[j * n + i] = this.values[base + j]!;
      target[i] = this.labels[r]!;
    }
    return { data: { featureNames: this.featureNames, nRows: n, data }, target };
  }

  private grow(): void {
    const capacity = this.labels.length * 2;
    const values = new Float64Array(capacity * this.featureNames.length);
    values.set(this.values);
    const labels = new Float64Array(capacity);
    labels.set(this.labels);
    this.values = values;
    this.labels = labels;
  }
}
