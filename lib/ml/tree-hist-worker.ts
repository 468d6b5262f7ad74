/** Helper thread of the GBDT: builds half of each large histogram on command (see tree-arena.ts). */
import { workerData } from 'node:worker_threads';
import { runHistWorker, type HistWorkerData } from './tree-arena.ts';

runHistWorker(workerData as HistWorkerData);
