/**
 * A pipeline in a child process of its own (`rainstream pipeline`), as an operator runs it: started with
 * a health port, waited for through GET /ready, killed with the signal a test wants. And what the tests
 * check on topics: (station, date) keys read back committed-only, duplicates counted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { EventCodec, EventKind } from '../../lib/domain/events.ts';
import type { Kafka } from '../../lib/platform/kafka/client.ts';
import { readToEnd } from '../../lib/platform/kafka/read-to-end.ts';
import { pollUntil } from './integration.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A TCP port free right now on loopback (the OS picks it). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface PipelineProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  readonly exited: Promise<number | string>;
  ready(): Promise<boolean>;
  waitReady(timeoutMs?: number): Promise<void>;
  kill(signal: NodeJS.Signals): Promise<number | string>;
}

export async function startPipelineProcess(options: {
  env: Readonly<Record<string, string>>;
  stages?: readonly string[];
  /** Where the child's stdout and stderr go (default: ignored). */
  output?: 'ignore' | 'inherit' | ((line: string) => void);
}): Promise<PipelineProcess> {
  const port = await freePort();
  const args = ['ops/rainstream.ts', 'pipeline', '--health-port', String(port)];
  if (options.stages) args.push('--stages', options.stages.join(','));
  const output = options.output ?? 'ignore';
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...options.env },
    stdio: [
      'ignore',
      typeof output === 'function' ? 'pipe' : output,
      typeof output === 'function' ? 'pipe' : output,
    ],
  });
  if (typeof output === 'function') {
    for (const stream of [child.stdout!, child.stderr!]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (rest + chunk).split('\n');
        rest = lines.pop()!;
        for (const line of lines) output(line);
      });
    }
  }
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
  const ready = async () => {
    try {
      const response = await fetch(`http://127.0.0.1:${port}/ready`, { signal: AbortSignal.timeout(1_000) });
      return response.status === 200;
    } catch {
      return false;
    }
  };
  return {
    child,
    port,
    exited,
    ready,
    waitReady: (timeoutMs = 90_000) =>
      pollUntil(ready, { timeoutMs, intervalMs: 100, what: 'the pipeline process to be ready' }).then(
        () => undefined,
      ),
    async kill(signal) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

export interface KeyCount {
  records: number;
  keys: number;
  /** Records beyond the first of their (location, date). */
  duplicated: number;
}

/**
 * (location, date) of every committed record of a topic, decoded with its kind: rain's records of a topic
 * that carries several tasks (every task's records of an observation are committed in rain's transaction).
 */
export async function keysOn(
  kafka: Kafka,
  codec: EventCodec,
  topic: string,
  kind: EventKind,
): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  await readToEnd(kafka, topic, {
    async onBatch(records) {
      for (const r of records) {
        const event = (await codec.decode(kind, r.value!)) as {
          location: string;
          date: string;
          task?: string;
        };
        if (event.task !== undefined && event.task !== 'rain') continue;
        const key = `${event.location}|${event.date}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    },
  });
  return counts;
}

export function countKeys(counts: ReadonlyMap<string, number>): KeyCount {
  let records = 0;
  let duplicated = 0;
  for (const n of counts.values()) {
    records += n;
    duplicated += n - 1;
  }
  return { records, keys: counts.size, duplicated };
}
