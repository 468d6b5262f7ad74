/** Worker thread of the forest: grows trees beside the thread that called fit (see forest.ts). */
import { workerData } from 'node:worker_threads';
import { runForestWorker, type ForestWorkerData } from './forest.ts';

runForestWorker(workerData as ForestWorkerData);
