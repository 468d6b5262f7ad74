import { pino } from 'pino';
import type { Config } from './config.ts';

export type Logger = pino.Logger;

/**
 * The process's root logger. Built once by the process shell and passed down; components take a child
 * so every line says where it came from. Lines go to `destination`, else to `config.logFile` (appended,
 * written synchronously so that the last line before an exit is never lost; several processes and threads
 * may append to one file, each line whole), else to stdout.
 */
export function createLogger(
  config: Pick<Config, 'logLevel' | 'logFile'>,
  destination?: pino.DestinationStream,
  bindings: Record<string, unknown> = {},
): Logger {
  const options: pino.LoggerOptions = { level: config.logLevel, base: { pid: process.pid, ...bindings } };
  const to =
    destination ??
    (config.logFile
      ? pino.destination({ dest: config.logFile, mkdir: true, append: true, sync: true })
      : null);
  return to ? pino(options, to) : pino(options);
}

export function child(logger: Logger, component: string, bindings: Record<string, unknown> = {}): Logger {
  return logger.child({ component, ...bindings });
}
