/**
 * The fault suite's own stack: ops/stack with a state folder and ports of its own (never the stack other
 * work uses), so its services can be killed at will. `up` is also how a killed service comes back.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/pipeline-process.ts';

const run = promisify(execFile);

export type Service = 'kafka' | 'registry' | 'clickhouse' | 'redis';

export interface StackPorts {
  kafka: number;
  kafkaController: number;
  registry: number;
  clickhouseHttp: number;
  clickhouseTcp: number;
  clickhouseInterserver: number;
  redis: number;
}

/** Away from the defaults (1xxxx) and from the 2xxxx ports other throw-away stacks here use. */
export const FAULT_PORTS: StackPorts = {
  kafka: 39092,
  kafkaController: 39093,
  registry: 38081,
  clickhouseHttp: 38123,
  clickhouseTcp: 39000,
  clickhouseInterserver: 39009,
  redis: 36379,
};

export interface FaultStack {
  readonly stateDir: string;
  /** The endpoints as the processes' environment (KAFKA_BROKERS, ...). */
  readonly endpoints: Readonly<Record<string, string>>;
  up(): Promise<void>;
  down(): Promise<void>;
  /** Kills the service's process (ours only: read from the stack's pid file) and waits until it is gone. */
  kill(service: Service, signal: NodeJS.Signals): Promise<void>;
}

export function faultStack(stateDir: string, ports: StackPorts = FAULT_PORTS): FaultStack {
  const env = {
    ...process.env,
    RAINSTREAM_STATE_DIR: stateDir,
    STACK_KAFKA_PORT: String(ports.kafka),
    STACK_KAFKA_CONTROLLER_PORT: String(ports.kafkaController),
    STACK_REGISTRY_PORT: String(ports.registry),
    STACK_CLICKHOUSE_HTTP_PORT: String(ports.clickhouseHttp),
    STACK_CLICKHOUSE_TCP_PORT: String(ports.clickhouseTcp),
    STACK_CLICKHOUSE_INTERSERVER_PORT: String(ports.clickhouseInterserver),
    STACK_REDIS_PORT: String(ports.redis),
  };
  const stack = async (command: string) => {
    await run('bash', ['ops/stack', command], { cwd: ROOT, env, timeout: 900_000, maxBuffer: 16 << 20 });
  };
  return {
    stateDir,
    endpoints: {
      KAFKA_BROKERS: `127.0.0.1:${ports.kafka}`,
      SCHEMA_REGISTRY_URL: `http://127.0.0.1:${ports.registry}/apis/ccompat/v7`,
      CLICKHOUSE_URL: `http://127.0.0.1:${ports.clickhouseHttp}`,
      REDIS_URL: `redis://127.0.0.1:${ports.redis}`,
    },
    up: () => stack('up'),
    down: () => stack('down'),
    async kill(service, signal) {
      const pid = Number((await readFile(join(stateDir, 'run', `${service}.pid`), 'utf8')).trim());
      if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid for ${service} in ${stateDir}`);
      process.kill(pid, signal);
      const deadline = Date.now() + 60_000;
      while (alive(pid)) {
        if (Date.now() > deadline) throw new Error(`${service} (pid ${pid}) did not die on ${signal}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (exited, not reaped yet by whoever started it) counts as gone.
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
