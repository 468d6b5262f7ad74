import { spawn } from 'node:child_process';

export class ChildProcessError extends Error {
  readonly code = 'BENCH_CHILD';
}

/**
 * Runs a child process to completion: stderr passes through (progress), stdout is collected and its
 * last non-empty line parsed as JSON (the child's result).
 */
export function runJsonChild<T>(
  cmd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', (err) =>
      reject(new ChildProcessError(`${cmd} could not start: ${err.message}`, { cause: err })),
    );
    child.on('close', (code, signal) => {
      if (code !== 0) {
        reject(
          new ChildProcessError(
            `${cmd} ${args.slice(0, 3).join(' ')} exited with ${signal ?? `code ${code}`}`,
          ),
        );
        return;
      }
      const last = out.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(
          new ChildProcessError(`${cmd} printed no JSON result line: ${JSON.stringify(last.slice(0, 200))}`),
        );
      }
    });
  });
}
