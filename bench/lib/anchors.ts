import { spawnSync } from 'node:child_process';
import { progress } from './report.ts';

/**
 * Debian's scikit-learn and XGBoost, run with the system Python, as side-by-side anchors
 * (STACK.md "Anchors"). Installed through apt when missing, so a fresh machine runs the bench.
 */

export const PYTHON = '/usr/bin/python3';
export const ANCHOR_APT_PACKAGES = ['python3-sklearn', 'python3-pandas', 'python3-xgboost'];

export class AnchorSetupError extends Error {
  readonly code = 'ANCHOR_SETUP';
}

function importsWork(modules: readonly string[]): boolean {
  const r = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { stdio: 'ignore' });
  return r.status === 0;
}

function run(cmd: string, args: string[]): void {
  progress(`$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) throw new AnchorSetupError(`${cmd} ${args.join(' ')} failed with status ${r.status}`);
}

/** Makes `import sklearn, xgboost` work, installing the Debian packages once if needed. */
export function ensureAnchors(modules: readonly string[] = ['numpy', 'sklearn', 'xgboost']): void {
  if (importsWork(modules)) return;
  progress(
    `${modules.join(', ')} not importable by ${PYTHON}: installing ${ANCHOR_APT_PACKAGES.join(' ')} with apt-get`,
  );
  const sudo = process.getuid?.() === 0 ? [] : ['sudo'];
  const apt = (args: string[]) => (sudo.length ? run('sudo', ['apt-get', ...args]) : run('apt-get', args));
  apt(['update', '-q']);
  apt(['install', '-y', '-q', ...ANCHOR_APT_PACKAGES]);
  if (!importsWork(modules))
    throw new AnchorSetupError(`still cannot import ${modules.join(', ')} after apt-get install`);
}

/**
 * Environment for the Python children: OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are set on some machines to
 * keep old OpenBLAS builds correct; they slow a current numpy, so they are removed for the anchors only
 * (together, never one of the two). Returns which variables were removed, for the table.
 */
export function pythonEnv(base: NodeJS.ProcessEnv = process.env): {
  env: NodeJS.ProcessEnv;
  unset: string[];
} {
  const env = { ...base };
  const unset: string[] = [];
  for (const name of ['OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE']) {
    if (env[name] !== undefined) {
      delete env[name];
      unset.push(name);
    }
  }
  return { env, unset };
}
