import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The code that trained a model, recorded in the registry: package version plus the git commit when the
 * process runs from a checkout (read from .git directly, no child process).
 */
export function codeVersion(root = ROOT): string {
  const pkg = JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { version: string };
  try {
    const head = readFileSync(`${root}.git/HEAD`, 'utf8').trim();
    const sha = head.startsWith('ref: ') ? readFileSync(`${root}.git/${head.slice(5)}`, 'utf8').trim() : head;
    return `${pkg.version}+${sha.slice(0, 12)}`;
  } catch {
    return pkg.version;
  }
}
