/**
 * Minimal `--name value` / `--flag` parsing for the command-line entry points, validated by a zod schema
 * so a bad option is reported with its name and the reason. Words that are not options are positionals
 * (a subcommand and its argument), allowed only where the caller says how many it takes.
 */
import type { z } from 'zod';
import { TypedError, type TypedErrorOptions } from '../errors.ts';

export class UsageError extends TypedError<'USAGE'> {
  constructor(message: string, options?: TypedErrorOptions) {
    super('USAGE', message, options);
  }
}

/** `--help` or `-h` anywhere: the caller prints its usage instead of running. */
export function wantsHelp(argv: readonly string[]): boolean {
  return argv.some((a) => a === '--help' || a === '-h');
}

export function parseArgs<S extends z.ZodType>(
  argv: readonly string[],
  schema: S,
  options: { positionals?: number } = {},
): z.infer<S> & { _: string[] } {
  const raw: Record<string, string | boolean> = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (positionals.length >= (options.positionals ?? 0)) {
        throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
      }
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq > 0 ? arg.slice(2, eq) : arg.slice(2)).replace(/-([a-z])/g, (_, c: string) =>
      c.toUpperCase(),
    );
    if (eq > 0) raw[name] = arg.slice(eq + 1);
    else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) raw[name] = argv[++i]!;
    else raw[name] = true;
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
    const reasons = parsed.error.issues
      .map((i) =>
        i.code === 'unrecognized_keys'
          ? `unknown option ${i.keys.map((k) => `--${kebab(k)}`).join(', ')}`
          : `--${kebab(i.path.join('.'))}: ${i.message}`,
      )
      .join('; ');
    throw new UsageError(reasons);
  }
  return Object.assign(parsed.data as object, { _: positionals }) as z.infer<S> & { _: string[] };
}
