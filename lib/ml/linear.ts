import {
  ARTIFACT_FORMAT,
  ModelParamsError,
  assertSameFeatures,
  bodyRecord,
  checkArtifact,
  checkTarget,
  numberArray,
} from './artifact.ts';
import {
  ModelFormatError,
  type Dataset,
  type FitOptions,
  type Model,
  type ModelArtifact,
  type ModelFamily,
  type Task,
  type WarmFitOptions,
} from './model.ts';

/**
 * The baselines: L2-regularized logistic regression (classification) and ridge regression.
 * Features are standardized with the training means and standard deviations (NaN ignored), and a
 * missing value is imputed with the training mean, i.e. contributes 0 in standardized space. Both
 * solvers are exact and deterministic (the seed is unused): Newton's method with a backtracking line
 * search for the logistic loss, the normal equations for ridge; on ~30 features a (d+1)^2 system is tiny.
 */

const FORMAT_VERSION = 1;

export type LogregParams = {
  /** Penalty on the weights of the standardized features: loss = sum(logloss) + l2/2 * |w|^2 (sklearn's 1/C). */
  l2: number;
  maxIter: number;
  /** Stop when the largest gradient component per row falls below this. */
  tol: number;
};

export type LinregParams = {
  /** Ridge penalty on standardized weights: loss = sum((y - yhat)^2) + l2 * |w|^2. */
  l2: number;
};

interface Standardization {
  readonly means: Float64Array;
  readonly stds: Float64Array;
}

/** Column means and population standard deviations over the non-missing values; 1 for a constant column. */
function standardization(data: Dataset): Standardization {
  const d = data.featureNames.length;
  const n = data.nRows;
  const means = new Float64Array(d);
  const stds = new Float64Array(d);
  for (let c = 0; c < d; c++) {
    let count = 0;
    let sum = 0;
    const base = c * n;
    for (let r = 0; r < n; r++) {
      const v = data.data[base + r]!;
      if (v === v) {
        sum += v;
        count++;
      }
    }
    const mean = count > 0 ? sum / count : 0;
    let ss = 0;
    for (let r = 0; r < n; r++) {
      const v = data.data[base + r]!;
      if (v === v) ss += (v - mean) * (v - mean);
    }
    const std = count > 0 ? Math.sqrt(ss / count) : 0;
    means[c] = mean;
    stds[c] = std > 1e-12 ? std : 1;
  }
  return { means, stds };
}

/** Row-major standardized design with a leading column of ones (the intercept), NaN -> 0 (the mean). */
function design(data: Dataset, s: Standardization): Float64Array {
  const d = data.featureNames.length;
  const n = data.nRows;
  const D = d + 1;
  const z = new Float64Array(n * D);
  for (let r = 0; r < n; r++) z[r * D] = 1;
  for (let c = 0; c < d; c++) {
    const base = c * n;
    const mean = s.means[c]!;
    const inv = 1 / s.stds[c]!;
    for (let r = 0; r < n; r++) {
      const v = data.data[base + r]!;
      z[r * D + c + 1] = v === v ? (v - mean) * inv : 0;
    }
  }
  return z;
}

/** Solves A x = b in place for symmetric positive definite A (D x D, row-major) by Cholesky. */
function choleskySolve(a: Float64Array, b: Float64Array, D: number): Float64Array {
  const l = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let sum = a[i * D + j]!;
      for (let k = 0; k < j; k++) sum -= l[i * D + k]! * l[j * D + k]!;
      if (i === j) {
        if (!(sum > 0))
          throw new ModelParamsError('normal equations are not positive definite (add L2 penalty)');
        l[i * D + i] = Math.sqrt(sum);
      } else l[i * D + j] = sum / l[j * D + j]!;
    }
  }
  const y = new Float64Array(D);
  for (let i = 0; i < D; i++) {
    let sum = b[i]!;
    for (let k = 0; k < i; k++) sum -= l[i * D + k]! * y[k]!;
    y[i] = sum / l[i * D + i]!;
  }
  const x = new Float64Array(D);
  for (let i = D - 1; i >= 0; i--) {
    let sum = y[i]!;
    for (let k = i + 1; k < D; k++) sum -= l[k * D + i]! * x[k]!;
    x[i] = sum / l[i * D + i]!;
  }
  return x;
}

function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** log(1 + exp(z)) without overflow. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

function logisticLoss(
  z: Float64Array,
  y: Float64Array,
  w: Float64Array,
  n: number,
  D: number,
  l2: number,
): number {
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let eta = 0;
    const base = r * D;
    for (let j = 0; j < D; j++) eta += z[base + j]! * w[j]!;
    // -[y log p + (1-y) log(1-p)] = softplus(eta) - y * eta
    loss += softplus(eta) - y[r]! * eta;
  }
  let pen = 0;
  for (let j = 1; j < D; j++) pen += w[j]! * w[j]!;
  return loss + 0.5 * l2 * pen;
}

interface LinearBody {
  readonly means: Float64Array;
  readonly stds: Float64Array;
  /** Weights of the standardized features. */
  readonly weights: Float64Array;
  readonly intercept: number;
  readonly iterations: number;
  readonly converged: boolean;
  /**
   * Logreg only: the penalized loss's Hessian at the solution, (d+1) x (d+1) row-major over
   * [intercept, standardized weights]. It is the precision of the Laplace approximation of everything
   * learned so far, which is what a warm start needs to add new rows without revisiting old ones.
   */
  readonly precision?: Float64Array;
  /**
   * Linreg only: the sums over every row learned of [1 z][1 z]' ((d+1) x (d+1), row-major) and of [1 z] y,
   * z the features standardized with this body's means and stds. A ridge warm start adds the new rows'
   * sums and solves again: the exact ridge fit of all rows under the kept standardization.
   */
  readonly gram?: Float64Array;
  readonly zty?: Float64Array;
}

class LinearModel implements Model {
  readonly family: string;
  readonly task: Task;
  readonly featureNames: readonly string[];
  readonly params: Record<string, unknown>;
  readonly body: LinearBody;
  /** Weights folded onto raw features, so a row costs one multiply-add per feature. */
  private readonly rawWeights: Float64Array;
  private readonly rawIntercept: number;

  constructor(
    family: string,
    task: Task,
    featureNames: readonly string[],
    params: Record<string, unknown>,
    body: LinearBody,
  ) {
    this.family = family;
    this.task = task;
    this.featureNames = featureNames;
    this.params = params;
    this.body = body;
    const d = featureNames.length;
    this.rawWeights = new Float64Array(d);
    let b = body.intercept;
    for (let c = 0; c < d; c++) {
      const w = body.weights[c]! / body.stds[c]!;
      this.rawWeights[c] = w;
      b -= w * body.means[c]!;
    }
    this.rawIntercept = b;
  }

  private link(eta: number): number {
    return this.task === 'classification' ? sigmoid(eta) : eta;
  }

  predictRow(row: ArrayLike<number>): number {
    const w = this.rawWeights;
    const means = this.body.means;
    let eta = this.rawIntercept;
    for (let c = 0; c < w.length; c++) {
      const v = row[c]!;
      eta += w[c]! * (v === v ? v : means[c]!);
    }
    return this.link(eta);
  }

  predictBatch(data: Dataset, out?: Float64Array): Float64Array {
    assertSameFeatures(this.featureNames, data.featureNames);
    const n = data.nRows;
    const result = out ?? new Float64Array(n);
    result.fill(this.rawIntercept, 0, n);
    // Column by column: sequential reads of the column-major buffer.
    for (let c = 0; c < this.rawWeights.length; c++) {
      const w = this.rawWeights[c]!;
      const mean = this.body.means[c]!;
      const base = c * n;
      for (let r = 0; r < n; r++) {
        const v = data.data[base + r]!;
        result[r]! += w * (v === v ? v : mean);
      }
    }
    if (this.task === 'classification') for (let r = 0; r < n; r++) result[r] = sigmoid(result[r]!);
    return result;
  }

  toJSON(): ModelArtifact {
    const b = this.body;
    return {
      format: ARTIFACT_FORMAT,
      formatVersion: FORMAT_VERSION,
      family: this.family,
      task: this.task,
      featureNames: [...this.featureNames],
      params: this.params,
      body: {
        means: Array.from(b.means),
        stds: Array.from(b.stds),
        weights: Array.from(b.weights),
        intercept: b.intercept,
        iterations: b.iterations,
        converged: b.converged,
        ...(b.precision ? { precision: Array.from(b.precision) } : {}),
        ...(b.gram && b.zty ? { gram: Array.from(b.gram), zty: Array.from(b.zty) } : {}),
      },
    };
  }
}

function loadLinear(artifact: ModelArtifact, family: string, task: Task): Model {
  const a = checkArtifact(artifact, family, FORMAT_VERSION);
  if (a.task !== task) throw new ModelFormatError(`${family} artifact has task ${a.task}, expected ${task}`);
  const body = bodyRecord(a);
  const d = a.featureNames.length;
  const stds = numberArray(body, 'stds', d);
  if (!stds.every((s) => s > 0)) throw new ModelFormatError('artifact body.stds must be positive');
  if (typeof body.intercept !== 'number' || !Number.isFinite(body.intercept)) {
    throw new ModelFormatError('artifact body.intercept is not a finite number');
  }
  return new LinearModel(
    family,
    task,
    [...a.featureNames],
    { ...a.params },
    {
      means: numberArray(body, 'means', d),
      stds,
      weights: numberArray(body, 'weights', d),
      intercept: body.intercept,
      iterations: typeof body.iterations === 'number' ? body.iterations : 0,
      converged: body.converged === true,
      ...(body.precision === undefined
        ? {}
        : { precision: numberArray(body, 'precision', (d + 1) * (d + 1)) }),
      ...(body.gram === undefined
        ? {}
        : { gram: numberArray(body, 'gram', (d + 1) * (d + 1)), zty: numberArray(body, 'zty', d + 1) }),
    },
  );
}

function checkPositive(name: string, value: number, allowZero = false): void {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ModelParamsError(`${name} must be ${allowZero ? 'non-negative' : 'positive'}, got ${value}`);
  }
}

function checkData(data: Dataset): void {
  if (data.nRows === 0) throw new ModelParamsError('cannot fit on zero rows');
  if (data.data.length !== data.nRows * data.featureNames.length) {
    throw new ModelParamsError(
      `dataset buffer holds ${data.data.length} values for ${data.nRows} x ${data.featureNames.length}`,
    );
  }
}

function fitLogreg(data: Dataset, target: Float64Array, p: LogregParams): LinearBody {
  const s = standardization(data);
  const z = design(data, s);
  const n = data.nRows;
  const D = data.featureNames.length + 1;
  const w = new Float64Array(D);
  // Start the intercept at the log-odds of the base rate: the first Newton step then only fits slopes.
  let pos = 0;
  for (let r = 0; r < n; r++) pos += target[r]!;
  const rate = Math.min(1 - 1e-6, Math.max(1e-6, pos / n));
  w[0] = Math.log(rate / (1 - rate));
  let loss = logisticLoss(z, target, w, n, D, p.l2);
  const grad = new Float64Array(D);
  const hess = new Float64Array(D * D);
  const trial = new Float64Array(D);
  let converged = false;
  let iterations = 0;
  for (; iterations < p.maxIter; iterations++) {
    grad.fill(0);
    hess.fill(0);
    for (let r = 0; r < n; r++) {
      const base = r * D;
      let eta = 0;
      for (let j = 0; j < D; j++) eta += z[base + j]! * w[j]!;
      const prob = sigmoid(eta);
      const resid = prob - target[r]!;
      const weight = prob * (1 - prob);
      for (let j = 0; j < D; j++) {
        const zj = z[base + j]!;
        grad[j]! += resid * zj;
        const wz = weight * zj;
        const row = j * D;
        for (let k = 0; k <= j; k++) hess[row + k]! += wz * z[base + k]!;
      }
    }
    let maxGrad = 0;
    for (let j = 0; j < D; j++) {
      if (j > 0) {
        grad[j]! += p.l2 * w[j]!;
        hess[j * D + j]! += p.l2;
      }
      maxGrad = Math.max(maxGrad, Math.abs(grad[j]!));
    }
    if (maxGrad / n < p.tol) {
      converged = true;
      break;
    }
    // Tiny ridge keeps the intercept's pivot positive when every probability saturates.
    hess[0]! += 1e-12 * n;
    for (let j = 0; j < D; j++) for (let k = j + 1; k < D; k++) hess[j * D + k] = hess[k * D + j]!;
    const step = choleskySolve(hess, grad, D);
    let slope = 0;
    for (let j = 0; j < D; j++) slope += grad[j]! * step[j]!;
    let t = 1;
    let next = loss;
    for (let halvings = 0; halvings < 20; halvings++) {
      for (let j = 0; j < D; j++) trial[j] = w[j]! - t * step[j]!;
      next = logisticLoss(z, target, trial, n, D, p.l2);
      if (next <= loss - 1e-4 * t * slope) break;
      t /= 2;
    }
    // No decrease left within floating point: the gradient test cannot get any tighter.
    if (!(next < loss)) {
      converged = true;
      iterations++;
      break;
    }
    w.set(trial);
    loss = next;
  }
  return {
    ...s,
    weights: w.slice(1),
    intercept: w[0]!,
    iterations,
    converged,
    precision: logisticHessian(z, target.length, D, w, penaltyMatrix(D, p.l2)),
  };
}

/** The L2 penalty as a matrix: l2 on the weights' diagonal, nothing on the intercept. */
function penaltyMatrix(D: number, l2: number): Float64Array {
  const a = new Float64Array(D * D);
  for (let j = 1; j < D; j++) a[j * D + j] = l2;
  return a;
}

/** prior + sum over rows of p(1-p) z z' at weights w (full symmetric matrix). */
function logisticHessian(
  z: Float64Array,
  n: number,
  D: number,
  w: Float64Array,
  prior: Float64Array,
): Float64Array {
  const hess = Float64Array.from(prior);
  for (let r = 0; r < n; r++) {
    const base = r * D;
    let eta = 0;
    for (let j = 0; j < D; j++) eta += z[base + j]! * w[j]!;
    const prob = sigmoid(eta);
    const weight = prob * (1 - prob);
    for (let j = 0; j < D; j++) {
      const wz = weight * z[base + j]!;
      const row = j * D;
      for (let k = 0; k <= j; k++) hess[row + k]! += wz * z[base + k]!;
    }
  }
  for (let j = 0; j < D; j++) for (let k = j + 1; k < D; k++) hess[j * D + k] = hess[k * D + j]!;
  return hess;
}

/**
 * Warm start of the logistic regression: a Bayesian update under the Laplace approximation. What the
 * base learned is summarized by its weights w0 and precision A (the Hessian of its penalized loss), so
 * adding rows is minimizing  sum_new logloss(w) + 1/2 (w - w0)' A (w - w0)  by Newton's method, from w0,
 * on the new rows only; the new precision is A plus their Hessian. With the base's standardization kept,
 * this matches a refit on all rows up to the quadratic approximation of the old rows' loss.
 */
function warmLogregBody(base: LinearBody, data: Dataset, target: Float64Array, p: LogregParams): LinearBody {
  if (!base.precision) {
    throw new ModelParamsError('logreg base has no precision matrix (stored before warm starts): refit');
  }
  const s = { means: base.means, stds: base.stds };
  const z = design(data, s);
  const n = data.nRows;
  const D = data.featureNames.length + 1;
  const A = base.precision;
  const w0 = new Float64Array(D);
  w0[0] = base.intercept;
  w0.set(base.weights, 1);
  const w = Float64Array.from(w0);
  const objective = (v: Float64Array): number => {
    let loss = logisticLoss(z, target, v, n, D, 0);
    for (let j = 0; j < D; j++) {
      let aj = 0;
      for (let k = 0; k < D; k++) aj += A[j * D + k]! * (v[k]! - w0[k]!);
      loss += 0.5 * (v[j]! - w0[j]!) * aj;
    }
    return loss;
  };
  let loss = objective(w);
  const grad = new Float64Array(D);
  const trial = new Float64Array(D);
  let converged = false;
  let iterations = 0;
  for (; iterations < p.maxIter; iterations++) {
    grad.fill(0);
    for (let j = 0; j < D; j++) {
      for (let k = 0; k < D; k++) grad[j]! += A[j * D + k]! * (w[k]! - w0[k]!);
    }
    for (let r = 0; r < n; r++) {
      const row = r * D;
      let eta = 0;
      for (let j = 0; j < D; j++) eta += z[row + j]! * w[j]!;
      const resid = sigmoid(eta) - target[r]!;
      for (let j = 0; j < D; j++) grad[j]! += resid * z[row + j]!;
    }
    let maxGrad = 0;
    for (let j = 0; j < D; j++) maxGrad = Math.max(maxGrad, Math.abs(grad[j]!));
    if (maxGrad / Math.max(1, n) < p.tol) {
      converged = true;
      break;
    }
    const hess = logisticHessian(z, n, D, w, A);
    const step = choleskySolve(hess, grad, D);
    let slope = 0;
    for (let j = 0; j < D; j++) slope += grad[j]! * step[j]!;
    let t = 1;
    let next = loss;
    for (let halvings = 0; halvings < 20; halvings++) {
      for (let j = 0; j < D; j++) trial[j] = w[j]! - t * step[j]!;
      next = objective(trial);
      if (next <= loss - 1e-4 * t * slope) break;
      t /= 2;
    }
    if (!(next < loss)) {
      converged = true;
      iterations++;
      break;
    }
    w.set(trial);
    loss = next;
  }
  return {
    ...s,
    weights: w.slice(1),
    intercept: w[0]!,
    iterations,
    converged,
    precision: logisticHessian(z, n, D, w, A),
  };
}

function fitRidge(data: Dataset, target: Float64Array, p: LinregParams): LinearBody {
  const s = standardization(data);
  const z = design(data, s);
  const n = data.nRows;
  const d = data.featureNames.length;
  const D = d + 1;
  let mean = 0;
  for (let r = 0; r < n; r++) mean += target[r]!;
  mean /= n;
  // Standardized columns have mean 0 (missing values sit at the mean), so the intercept is the target
  // mean and the slopes solve (Z'Z + l2 I) w = Z'(y - mean) on the feature columns alone.
  const a = new Float64Array(d * d);
  const b = new Float64Array(d);
  const sz = new Float64Array(d);
  for (let r = 0; r < n; r++) {
    const base = r * D + 1;
    const yc = target[r]! - mean;
    for (let j = 0; j < d; j++) {
      const zj = z[base + j]!;
      b[j]! += zj * yc;
      sz[j]! += zj;
      const row = j * d;
      for (let k = 0; k <= j; k++) a[row + k]! += zj * z[base + k]!;
    }
  }
  // The sums a warm start continues from (over [1 z]), taken before the penalty is added.
  const gram = new Float64Array(D * D);
  const zty = new Float64Array(D);
  gram[0] = n;
  zty[0] = mean * n;
  for (let j = 0; j < d; j++) {
    gram[j + 1] = gram[(j + 1) * D] = sz[j]!;
    zty[j + 1] = b[j]! + mean * sz[j]!;
    for (let k = 0; k <= j; k++) gram[(j + 1) * D + k + 1] = gram[(k + 1) * D + j + 1] = a[j * d + k]!;
  }
  for (let j = 0; j < d; j++) {
    a[j * d + j]! += p.l2 + 1e-12 * n;
    for (let k = j + 1; k < d; k++) a[j * d + k] = a[k * d + j]!;
  }
  const weights = choleskySolve(a, b, d);
  return { ...s, weights, intercept: mean, iterations: 1, converged: true, gram, zty };
}

/**
 * Warm start of the ridge regression: the base's sums plus the new rows' (standardized with the base's
 * means and stds, kept as the trees keep their bins), solved again with the intercept free. Exact: the
 * ridge fit of every row learned so far under that standardization, at the cost of the new rows only.
 */
function warmRidgeBody(base: LinearBody, data: Dataset, target: Float64Array, p: LinregParams): LinearBody {
  if (!base.gram || !base.zty) {
    throw new ModelParamsError('linreg base has no normal-equation sums (stored before warm starts): refit');
  }
  const n = data.nRows;
  const d = data.featureNames.length;
  const D = d + 1;
  const z = design(data, base);
  const gram = Float64Array.from(base.gram);
  const zty = Float64Array.from(base.zty);
  for (let r = 0; r < n; r++) {
    const row = r * D;
    const y = target[r]!;
    for (let j = 0; j < D; j++) {
      const zj = z[row + j]!;
      zty[j]! += zj * y;
      const g = j * D;
      for (let k = 0; k <= j; k++) gram[g + k]! += zj * z[row + k]!;
    }
  }
  for (let j = 0; j < D; j++) for (let k = 0; k < j; k++) gram[k * D + j] = gram[j * D + k]!;
  const a = Float64Array.from(gram);
  const rows = gram[0]!;
  for (let j = 1; j < D; j++) a[j * D + j]! += p.l2 + 1e-12 * rows;
  const w = choleskySolve(a, zty, D);
  return {
    means: base.means,
    stds: base.stds,
    weights: w.subarray(1).slice(),
    intercept: w[0]!,
    iterations: 1,
    converged: true,
    gram,
    zty,
  };
}

/**
 * A ridge fit folded onto raw features: value = intercept + sum of weights[c] * x[c], a missing x[c]
 * taken as fill[c] (its training mean, where the standardized fit put it). The GBDT's regression
 * starts from one (gbdt.ts, linearBase) and boosts its residuals.
 */
export interface RawLinear {
  readonly intercept: number;
  readonly weights: Float64Array;
  readonly fill: Float64Array;
}

export function fitRawLinear(data: Dataset, target: Float64Array, l2: number): RawLinear {
  checkPositive('l2', l2, true);
  checkData(data);
  const body = fitRidge(data, target, { l2 });
  const d = data.featureNames.length;
  const weights = new Float64Array(d);
  let intercept = body.intercept;
  for (let c = 0; c < d; c++) {
    weights[c] = body.weights[c]! / body.stds[c]!;
    intercept -= weights[c]! * body.means[c]!;
  }
  return { intercept, weights, fill: body.means };
}

export function rawLinearRow(lin: RawLinear, row: ArrayLike<number>): number {
  let v = lin.intercept;
  for (let c = 0; c < lin.weights.length; c++) {
    const x = row[c]!;
    v += lin.weights[c]! * (x === x ? x : lin.fill[c]!);
  }
  return v;
}

/** Adds the linear value of every row of a column-major matrix (n rows) to out[0..n). */
export function addRawLinear(
  lin: RawLinear,
  data: Float32Array | Float64Array,
  n: number,
  out: Float64Array,
): void {
  for (let r = 0; r < n; r++) out[r]! += lin.intercept;
  for (let c = 0; c < lin.weights.length; c++) {
    const w = lin.weights[c]!;
    const fill = lin.fill[c]!;
    const base = c * n;
    for (let r = 0; r < n; r++) {
      const x = data[base + r]!;
      out[r]! += w * (x === x ? x : fill);
    }
  }
}

export const logregFamily: ModelFamily<LogregParams> = {
  family: 'logreg',
  defaults: { l2: 1, maxIter: 50, tol: 1e-8 },
  fit(
    data: Dataset,
    target: Float64Array,
    task: Task,
    params: Partial<LogregParams>,
    _options: FitOptions,
  ): Model {
    if (task !== 'classification') throw new ModelParamsError('logreg fits classification only; use linreg');
    const p = { ...this.defaults, ...params };
    checkPositive('l2', p.l2, true);
    checkPositive('tol', p.tol);
    if (!Number.isInteger(p.maxIter) || p.maxIter < 1)
      throw new ModelParamsError(`maxIter must be >= 1, got ${p.maxIter}`);
    checkData(data);
    checkTarget(target, data.nRows, task);
    const body = fitLogreg(data, target, p);
    return new LinearModel('logreg', task, [...data.featureNames], { ...p }, body);
  },
  fitWarm(base: Model, data: Dataset, target: Float64Array, options: WarmFitOptions): Model {
    if (!(base instanceof LinearModel) || base.family !== 'logreg') {
      throw new ModelParamsError(`logreg warm start needs a logreg base, got ${base.family}`);
    }
    if (options.warm && Object.keys(options.warm).length > 0) {
      throw new ModelParamsError(`logreg warm: unknown setting ${Object.keys(options.warm)[0]}`);
    }
    assertSameFeatures(base.featureNames, data.featureNames);
    checkData(data);
    checkTarget(target, data.nRows, 'classification');
    const p = { ...this.defaults, ...(base.params as Partial<LogregParams>) };
    return new LinearModel(
      'logreg',
      'classification',
      [...base.featureNames],
      { ...base.params },
      warmLogregBody(base.body, data, target, p),
    );
  },
  fromJSON(artifact: ModelArtifact): Model {
    return loadLinear(artifact, 'logreg', 'classification');
  },
};

export const linregFamily: ModelFamily<LinregParams> = {
  family: 'linreg',
  defaults: { l2: 1 },
  fit(
    data: Dataset,
    target: Float64Array,
    task: Task,
    params: Partial<LinregParams>,
    _options: FitOptions,
  ): Model {
    if (task !== 'regression') throw new ModelParamsError('linreg fits regression only; use logreg');
    const p = { ...this.defaults, ...params };
    checkPositive('l2', p.l2, true);
    checkData(data);
    checkTarget(target, data.nRows, task);
    return new LinearModel('linreg', task, [...data.featureNames], { ...p }, fitRidge(data, target, p));
  },
  fitWarm(base: Model, data: Dataset, target: Float64Array, options: WarmFitOptions): Model {
    if (!(base instanceof LinearModel) || base.family !== 'linreg') {
      throw new ModelParamsError(`linreg warm start needs a linreg base, got ${base.family}`);
    }
    if (options.warm && Object.keys(options.warm).length > 0) {
      throw new ModelParamsError(`linreg warm: unknown setting ${Object.keys(options.warm)[0]}`);
    }
    assertSameFeatures(base.featureNames, data.featureNames);
    checkData(data);
    checkTarget(target, data.nRows, 'regression');
    const p = { ...this.defaults, ...(base.params as Partial<LinregParams>) };
    return new LinearModel(
      'linreg',
      'regression',
      [...base.featureNames],
      { ...base.params },
      warmRidgeBody(base.body, data, target, p),
    );
  },
  fromJSON(artifact: ModelArtifact): Model {
    return loadLinear(artifact, 'linreg', 'regression');
  },
};
