/**
 * Every line a process prints is a JSON log line: what Node would otherwise print as raw text (an uncaught
 * exception's stack, an unhandled rejection, a process warning) goes through the process's pino logger.
 */
import type { Logger } from './log.ts';

const INSTALLED = Symbol.for('rainstream.process-log');

/**
 * Installs the handlers once per process. An uncaught exception leaves the process in an unknown state:
 * it is logged (fatal) and the process exits 1, for its supervisor to restart it. An unhandled rejection
 * is logged and the process goes on: the code that lost track of that promise has already moved on.
 */
export function routeProcessOutputToLog(logger: Logger, exit: (code: number) => void = process.exit): void {
  const proc = process as NodeJS.Process & { [INSTALLED]?: true };
  if (proc[INSTALLED]) return;
  proc[INSTALLED] = true;
  const log = logger.child({ component: 'process' });
  process.on('uncaughtException', (error, origin) => {
    log.fatal({ err: error, origin }, 'uncaught exception; exiting');
    exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection');
  });
  // Node prints warnings to stderr through its own listener; this one replaces it.
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    log.warn({ err: warning, warning: warning.name }, warning.message);
  });
}
