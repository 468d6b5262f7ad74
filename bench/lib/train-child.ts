import { parseArgs } from 'node:util';
import { familyByName } from '../../lib/ml/families.ts';
import type { Model, Task } from '../../lib/ml/model.ts';
import { readRow } from '../../lib/ml/dataset.ts';
import { readLabeled, writePredictions } from './protocol1.ts';

/**
 * One rainstream family trained in a process of its own (so its peak RSS is its own), on the matrix
 * files bench/train.ts wrote. Prints one JSON line on stdout; predictions go to --out.
 *
 *   node bench/lib/train-child.ts --dir D --family gbdt --params '{"maxIterations":300}' --out D/gbdt.p.f64
 *     [--task classification|regression] [--latency]
 */

export interface ChildResult {
  readonly family: string;
  readonly trainSeconds: number;
  readonly predictUsPerRowBatch: number;
  readonly maxRssMb: number;
  readonly params: Record<string, unknown>;
  readonly trees: number | null;
  readonly latency: {
    readonly medianUs: number;
    readonly p99Us: number;
    readonly calls: number;
    readonly trees: number;
  } | null;
}

function treeCount(model: Model): number | null {
  const n = (model as { nTrees?: unknown }).nTrees;
  return typeof n === 'number' ? n : null;
}

/** Median and p99 of single-row predictRow calls, each timed on its own, cycling through test rows. */
function rowLatency(
  model: Model,
  rows: readonly Float64Array[],
  calls: number,
): { medianUs: number; p99Us: number } {
  let sink = 0;
  for (let i = 0; i < 2000; i++) sink += model.predictRow(rows[i % rows.length]!);
  const times = new Float64Array(calls);
  for (let i = 0; i < calls; i++) {
    const row = rows[i % rows.length]!;
    const t0 = process.hrtime.bigint();
    sink += model.predictRow(row);
    times[i] = Number(process.hrtime.bigint() - t0) / 1000;
  }
  if (!Number.isFinite(sink)) throw new Error('prediction was not finite');
  times.sort();
  return { medianUs: times[Math.floor(calls / 2)]!, p99Us: times[Math.floor(calls * 0.99)]! };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      family: { type: 'string' },
      params: { type: 'string', default: '{}' },
      seed: { type: 'string', default: '1' },
      out: { type: 'string' },
      task: { type: 'string', default: 'classification' },
      latency: { type: 'boolean', default: false },
    },
  });
  if (!values.dir || !values.family || !values.out) throw new Error('--dir, --family and --out are required');
  if (values.task !== 'classification' && values.task !== 'regression')
    throw new Error(`--task must be classification or regression, got ${values.task}`);
  const task: Task = values.task;
  const train = readLabeled(values.dir, 'train');
  const test = readLabeled(values.dir, 'test');
  const family = familyByName(values.family);
  const params = JSON.parse(values.params) as Record<string, unknown>;
  const seed = Number(values.seed);

  const t0 = performance.now();
  const model = family.fit(train.data, train.target, task, params, { seed });
  const trainSeconds = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const p = model.predictBatch(test.data);
  const predictSeconds = (performance.now() - t1) / 1000;
  writePredictions(values.out, p);
  const maxRssMb = process.resourceUsage().maxRSS / 1024;

  let latency: ChildResult['latency'] = null;
  if (values.latency) {
    // The latency figure is defined for a 300-tree model: when early stopping kept fewer trees, a
    // 300-round model (no early stopping) is fitted for this measurement alone, outside the timings above.
    let timed = model;
    if ((treeCount(model) ?? 300) < 300) {
      timed = family.fit(
        train.data,
        train.target,
        task,
        { ...params, maxIterations: 300, earlyStoppingRounds: 0 },
        { seed },
      );
    }
    const rows = Array.from({ length: Math.min(10_000, test.data.nRows) }, (_, r) => readRow(test.data, r));
    const calls = 10_000;
    latency = { ...rowLatency(timed, rows, calls), calls, trees: treeCount(timed) ?? 0 };
  }

  const result: ChildResult = {
    family: values.family,
    trainSeconds,
    predictUsPerRowBatch: (predictSeconds * 1e6) / test.data.nRows,
    maxRssMb,
    params: model.toJSON().params,
    trees: treeCount(model),
    latency,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main();
