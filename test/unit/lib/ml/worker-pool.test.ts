import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { datasetFromColumns } from '../../../../lib/ml/dataset.ts';
import { loadModel } from '../../../../lib/ml/families.ts';
import { rocAuc } from '../../../../lib/ml/metrics.ts';
import { runTrainJob, type TrainJob } from '../../../../lib/ml/train-worker.ts';
import { TrainingError, TrainingPool } from '../../../../lib/ml/worker-pool.ts';

function synthetic(n: number, seed: number) {
  let s = seed;
  const r = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const d = 6;
  const data = new Float32Array(n * d);
  const target = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = 0;
    for (let c = 0; c < d; c++) {
      const v = r() * 2 - 1;
      data[c * n + i] = r() < 0.05 ? NaN : v;
      if (c < 3) z += v;
    }
    target[i] = z + (r() - 0.5) > 0 ? 1 : 0;
  }
  return { data: datasetFromColumns(['a', 'b', 'c', 'd', 'e', 'f'], n, data), target };
}

const train = synthetic(4000, 5);
const validation = synthetic(1000, 9);
const job = (over: Partial<TrainJob> = {}): TrainJob => ({
  family: 'logreg',
  task: 'classification',
  params: {},
  seed: 1,
  train,
  validation,
  ...over,
});

let pool: TrainingPool | null = null;
afterEach(async () => {
  await pool?.close();
  pool = null;
});

describe('TrainingPool with the real worker', () => {
  it('trains off-thread and returns artifact, timings, RSS and validation predictions', async () => {
    pool = new TrainingPool();
    const out = await pool.train(job());
    expect(out.artifact.family).toBe('logreg');
    expect(out.trainSeconds).toBeGreaterThan(0);
    expect(out.maxRssMb).toBeGreaterThan(10);
    expect(out.validationPredictions).toBeInstanceOf(Float64Array);
    expect(out.validationPredictions!.length).toBe(1000);
    expect(rocAuc(validation.target, out.validationPredictions!)).toBeGreaterThan(0.8);
    // The artifact loads in this thread and predicts what the worker predicted.
    const model = loadModel(out.artifact, train.data.featureNames);
    expect(Array.from(model.predictBatch(validation.data))).toEqual(Array.from(out.validationPredictions!));
    // Same job in-process gives the same model: the worker adds no behaviour of its own.
    expect(runTrainJob(job()).artifact).toEqual(out.artifact);
  });

  it("lowers its workers' threads to the niceness asked, and only theirs", async () => {
    const niceOf = (tid: number | 'self') => {
      const stat = readFileSync(
        tid === 'self' ? '/proc/thread-self/stat' : `/proc/self/task/${tid}/stat`,
        'utf8',
      );
      // Fields after the command name (which may hold spaces): nice is the 19th field of the whole line.
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
    };
    const before = niceOf('self');
    pool = new TrainingPool({ niceness: 7 });
    const out = await pool.train(job());
    expect(out.artifact.family).toBe('logreg');
    const [priority] = pool.priorities;
    expect(priority).toMatchObject({ lowered: true, niceness: 7 });
    if (priority?.lowered) expect(niceOf(priority.tid)).toBe(7);
    expect(niceOf('self')).toBe(before);
    // A pool not asked keeps the process' priority and says nothing.
    const plain = new TrainingPool();
    await plain.train(job());
    expect(plain.priorities).toEqual([]);
    await plain.close();
  });

  it('keeps the event loop turning while a model trains', async () => {
    pool = new TrainingPool();
    let ticks = 0;
    let done = false;
    const spin = () => {
      if (done) return;
      ticks++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const out = await pool.train(job({ family: 'mlrf', params: { sampleRows: 1500, nEstimators: 3 } }));
    done = true;
    expect(out.artifact.family).toBe('mlrf');
    expect(ticks).toBeGreaterThan(0);
  });

  it('reports a learner error as TRAINING_FAILED with its code, and keeps serving', async () => {
    pool = new TrainingPool();
    const err = await pool.train(job({ params: { l2: -1 } })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingError);
    expect((err as TrainingError).code).toBe('TRAINING_FAILED');
    expect((err as TrainingError).causeCode).toBe('MODEL_PARAMS');
    expect((err as TrainingError).retriable).toBe(false);
    const unknown = await pool.train(job({ family: 'nope' })).catch((e: unknown) => e);
    expect((unknown as TrainingError).causeCode).toBe('UNKNOWN_FAMILY');
    expect((await pool.train(job())).artifact.family).toBe('logreg');
    expect(pool.replacedWorkers).toBe(0);
  });

  it('abandons a job past its time limit, replaces the worker and runs the next job', async () => {
    // The slow job would take tens of seconds; the limit leaves the fresh worker ample time to boot
    // and fit the small logreg that waits behind it.
    pool = new TrainingPool({ timeoutMs: 2000 });
    const slow = pool.train(
      job({ family: 'mlrf', params: { sampleRows: 3000, nEstimators: 40, maxFeatures: 1 } }),
    );
    const next = pool.train(job());
    await expect(slow).rejects.toMatchObject({ code: 'TRAINING_TIMEOUT', retriable: true });
    expect(pool.replacedWorkers).toBe(1);
    expect((await next).artifact.family).toBe('logreg');
  });

  it('runs queued jobs in order on one worker', async () => {
    pool = new TrainingPool({ size: 1 });
    const order: string[] = [];
    const a = pool.train(job({ seed: 1 })).then(() => order.push('a'));
    const b = pool
      .train(job({ family: 'mlrf', params: { sampleRows: 300, nEstimators: 2 } }))
      .then(() => order.push('b'));
    expect(pool.queued + pool.running).toBe(2);
    await Promise.all([a, b]);
    expect(order).toEqual(['a', 'b']);
  });

  it('moves buffers with transfer: the caller keeps no copy', async () => {
    pool = new TrainingPool();
    const own = synthetic(500, 3);
    const v = synthetic(100, 4);
    const out = await pool.train(job({ train: own, validation: v }), { transfer: true });
    expect(out.validationPredictions!.length).toBe(100);
    expect(own.data.data.length).toBe(0); // detached
  });

  it('close() fails waiting jobs and refuses new ones', async () => {
    pool = new TrainingPool();
    const running = pool.train(
      job({ family: 'mlrf', params: { sampleRows: 3000, nEstimators: 40, maxFeatures: 1 } }),
    );
    const waiting = pool.train(job());
    // Handlers attached before close() rejects them, so no rejection goes unobserved.
    const outcomes = Promise.all([running.catch((e: unknown) => e), waiting.catch((e: unknown) => e)]);
    await pool.close();
    for (const e of await outcomes) expect(e).toMatchObject({ code: 'POOL_CLOSED' });
    await expect(pool.train(job())).rejects.toMatchObject({ code: 'POOL_CLOSED' });
  });
});

describe('TrainingPool when a worker dies', () => {
  const crashing = new URL('../../../fixtures/ml/crashing-train-worker.ts', import.meta.url);

  it('fails the job with WORKER_CRASHED and replaces the worker, for an exit and an uncaught error', async () => {
    pool = new TrainingPool({ workerUrl: crashing });
    await expect(pool.train(job({ family: 'exit' }))).rejects.toMatchObject({
      code: 'WORKER_CRASHED',
      retriable: true,
      message: expect.stringMatching(/exited with code 3/),
    });
    await expect(pool.train(job({ family: 'logreg' }))).rejects.toMatchObject({
      code: 'WORKER_CRASHED',
      message: expect.stringMatching(/uncaught in worker while training logreg/),
    });
    expect(pool.replacedWorkers).toBe(2);
  });

  it('gives up, instead of respawning forever, when workers cannot even start', async () => {
    pool = new TrainingPool({
      workerUrl: new URL('../../../fixtures/ml/no-such-worker.ts', import.meta.url),
    });
    const err = await pool.train(job()).catch((e: unknown) => e);
    expect(err).toMatchObject({
      code: 'WORKER_CRASHED',
      message: expect.stringMatching(/fail to start \(3 in a row\)/),
    });
    await expect(pool.train(job())).rejects.toMatchObject({ code: 'WORKER_CRASHED' });
    expect(pool.replacedWorkers).toBe(3);
  });

  it('rejects a size that is not a positive integer', () => {
    expect(() => new TrainingPool({ size: 0 })).toThrow(RangeError);
  });
});
