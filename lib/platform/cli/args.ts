/**
 * Minimal `--name value` / `--flag` parsing for the command-line entry points, validated by a zod schema
 * so a bad option is reported with its name and the reason.
 */
import type { z } from 'zod';

export class UsageError extends Error {
  readonly code = 'USAGE';
}

export function parseArgs<S extends z.ZodType>(argv: readonly string[], schema: S): z.infer<S> {
  const raw: Record<string, string | boolean> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(arg)}`);
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
    const reasons = parsed.error.issues.map((i) => `--${i.path.join('.') || '?'}: ${i.message}`).join('; ');
    throw new UsageError(reasons);
  }
  return parsed.data;
}
