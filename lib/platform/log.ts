import { pino } from 'pino';
import type { Config } from './config.ts';

export type Logger = pino.Logger;

/**
 * The process's root logger. Built once by the process shell and passed down; components take a child
 * so every line says where it came from.
 */
export function createLogger(
  config: Pick<Config, 'logLevel'>,
  destination?: pino.DestinationStream,
  bindings: Record<string, unknown> = {},
): Logger {
  const options: pino.LoggerOptions = { level: config.logLevel, base: { pid: process.pid, ...bindings } };
  return destination ? pino(options, destination) : pino(options);
}

export function child(logger: Logger, component: string, bindings: Record<string, unknown> = {}): Logger {
  return logger.child({ component, ...bindings });
}
