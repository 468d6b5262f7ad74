/**
 * How every command-line entry runs: `--help` prints its usage and succeeds, a bad option prints the reason
 * and the usage and exits 2, and otherwise `main` runs with the parsed options. Exit codes are set, never
 * forced with process.exit, so a command that is done ends once its clients have closed.
 */
import type { z } from 'zod';
import { parseArgs, UsageError, wantsHelp } from './args.ts';

export interface CommandSpec<S extends z.ZodType> {
  /** As typed after `rainstream`, e.g. `replay`. */
  name: string;
  /** The usage text printed by --help: synopsis, options with defaults, an example. */
  usage: string;
  options: S;
  /** Words allowed besides options (a subcommand and its argument). */
  positionals?: number;
}

export async function runCommand<S extends z.ZodType>(
  spec: CommandSpec<S>,
  argv: readonly string[],
  main: (options: z.infer<S> & { _: string[] }) => Promise<number | void>,
): Promise<void> {
  if (wantsHelp(argv)) {
    process.stdout.write(`${spec.usage.trim()}\n`);
    process.exitCode = 0;
    return;
  }
  let options: z.infer<S> & { _: string[] };
  try {
    options = parseArgs(argv, spec.options, { positionals: spec.positionals });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`rainstream ${spec.name}: ${error.message}\n\n${spec.usage.trim()}\n`);
    process.exitCode = 2;
    return;
  }
  const code = await main(options);
  if (typeof code === 'number') process.exitCode = code;
}
