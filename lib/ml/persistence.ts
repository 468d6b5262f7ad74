/**
 * Persistence: tomorrow's value is today's. The baseline of a regression task before any model is trained
 * (so every day gets a forecast, and carries its features to the label join), and the floor the first
 * trained model must beat: for the next day's maximum temperature it is today's maximum. A row without
 * today's reading takes the first fallback column that has one, then a constant.
 *
 * Never trained and never stored (the champion of no registry row): it exists before any observation.
 */
import { ARTIFACT_FORMAT, ModelParamsError } from './artifact.ts';
import type { Dataset, Model, ModelArtifact, Task } from './model.ts';

export const PERSISTENCE_FAMILY = 'persistence';

export class PersistenceModel implements Model {
  readonly family = PERSISTENCE_FAMILY;
  readonly task: Task = 'regression';
  readonly featureNames: readonly string[];
  readonly columnNames: readonly string[];
  readonly constant: number;
  private readonly columns: Int32Array;

  /**
   * `columnNames`: the feature read first, then its fallbacks, by name; `constant` when all are missing.
   */
  constructor(featureNames: readonly string[], columnNames: readonly string[], constant: number) {
    this.columnNames = [...columnNames];
    this.constant = constant;
    if (columnNames.length === 0) throw new ModelParamsError('persistence needs at least one column');
    if (!Number.isFinite(constant))
      throw new ModelParamsError(`persistence constant ${constant} is not finite`);
    this.featureNames = [...featureNames];
    this.columns = Int32Array.from(columnNames, (name) => {
      const at = featureNames.indexOf(name);
      if (at < 0) throw new ModelParamsError(`persistence reads ${name}, which the features lack`);
      return at;
    });
  }

  predictRow(row: ArrayLike<number>): number {
    for (let k = 0; k < this.columns.length; k++) {
      const v = row[this.columns[k]!]!;
      if (Number.isFinite(v)) return v;
    }
    return this.constant;
  }

  predictBatch(data: Dataset, out = new Float64Array(data.nRows)): Float64Array {
    const n = data.nRows;
    for (let r = 0; r < n; r++) {
      let value = this.constant;
      for (let k = 0; k < this.columns.length; k++) {
        const v = data.data[this.columns[k]! * n + r]!;
        if (Number.isFinite(v)) {
          value = v;
          break;
        }
      }
      out[r] = value;
    }
    return out;
  }

  toJSON(): ModelArtifact {
    return {
      format: ARTIFACT_FORMAT,
      formatVersion: 1,
      family: PERSISTENCE_FAMILY,
      task: 'regression',
      featureNames: [...this.featureNames],
      params: { columns: [...this.columnNames], constant: this.constant },
      body: null,
    };
  }
}
