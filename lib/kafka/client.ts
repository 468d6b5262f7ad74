/**
 * The only module that imports kafkajs. Everything else in the project sees the types re-exported here,
 * so a maintained client (kafkajs has had no release since 2.2.4) can replace it in one place.
 */
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { LogEntry } from 'kafkajs';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';

export type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  ITopicConfig,
  Kafka,
  KafkaMessage,
  Message,
  Producer,
  ProducerConfig,
  RecordMetadata,
} from 'kafkajs';
export { Partitioners };

const PINO_LEVEL_OF = {
  [logLevel.NOTHING]: 'silent',
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
} as const;

/** kafkajs level that lets through what the pino logger would print anyway, and nothing more. */
export function kafkaLogLevelFor(level: string): logLevel {
  switch (level) {
    case 'trace':
    case 'debug':
      return logLevel.DEBUG;
    case 'info':
      return logLevel.INFO;
    case 'warn':
      return logLevel.WARN;
    case 'error':
    case 'fatal':
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

/** Bridges kafkajs's logger to pino: one child per kafkajs namespace (Consumer, Producer, Cluster...). */
export function pinoLogCreator(logger: Logger) {
  return () =>
    ({ namespace, level, log }: LogEntry): void => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log;
      const pinoLevel = PINO_LEVEL_OF[level];
      if (pinoLevel === 'silent') return;
      logger[pinoLevel]({ kafka: namespace, ...extra }, message);
    };
}

const FILTER_INSTALLED = Symbol.for('rainstream.kafkajs.timeoutNegativeWarningFilter');

/**
 * kafkajs 2.2.4 arms `setTimeout(fn, throttledUntil - Date.now())` with throttledUntil = -1 when a
 * connection opens, so Node 24 prints a TimeoutNegativeWarning per client (tulios/kafkajs#1751, open).
 * Node's clamp to 1 ms is exactly what kafkajs means, so the warning is noise. Only that warning, and
 * only when raised from kafkajs's own frames, is dropped; every other warning goes through untouched.
 */
export function silenceKafkajsTimeoutWarning(): void {
  const proc = process as NodeJS.Process & { [FILTER_INSTALLED]?: true };
  if (proc[FILTER_INSTALLED]) return;
  proc[FILTER_INSTALLED] = true;
  const original = process.emitWarning;
  process.emitWarning = function filtered(this: NodeJS.Process, warning: string | Error, ...rest: unknown[]) {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if (type === 'TimeoutNegativeWarning' && /[\\/]kafkajs[\\/]/.test(new Error().stack ?? '')) return;
    return (original as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
}

export interface KafkaClientOptions {
  /** Overrides config.kafka.clientId, e.g. to tell stages apart in broker logs. */
  clientId?: string;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export function createKafka(
  config: Pick<Config, 'kafka'>,
  logger: Logger,
  options: KafkaClientOptions = {},
): Kafka {
  silenceKafkajsTimeoutWarning();
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId ?? config.kafka.clientId,
    brokers: config.kafka.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    logLevel: kafkaLogLevelFor(kafkaLogger.level),
    logCreator: pinoLogCreator(kafkaLogger),
  });
}
