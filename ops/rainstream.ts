#!/usr/bin/env node
/**
 * `rainstream <command> [options]`: the one command line for people. Each command is a module with a
 * `main(argv)` (loaded only when asked for, so `rainstream stack` does not load the pipeline); `stack` is
 * the bash script that runs the local services. `rainstream <command> --help` prints that command's usage.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

interface Command {
  summary: string;
  /** Module (relative to this file) exporting `main(argv)`, or null for the stack script. */
  module: string | null;
}

const COMMANDS: Readonly<Record<string, Command>> = {
  demo: {
    summary: 'the main job: stack, pipeline, API, full replay, summary, then serve',
    module: './demo.ts',
  },
  stack: { summary: 'local services: up | down | status | reset | logs [svc]', module: null },
  setup: {
    summary: 'topics, schemas and ClickHouse tables of a deployment (idempotent)',
    module: './setup.ts',
  },
  pipeline: { summary: 'run pipeline stages in this process', module: '../consumers/host/main.ts' },
  replay: {
    summary: 'replay the weatherAUS file as observation events',
    module: '../producers/replay/main.ts',
  },
  ingest: {
    summary: 'live weather from Open-Meteo: backfill | daily | remap',
    module: '../producers/open-meteo/main.ts',
  },
  api: { summary: 'serve the HTTP API', module: '../api/server.ts' },
  models: {
    summary: 'model registry: list | champion | promote <version> | rollback',
    module: './models.ts',
  },
  fault: {
    summary: 'the fault suite on a stack of its own (npm run test:fault)',
    module: '../test/fault/run.ts',
  },
  'check-hostile': {
    summary: 'send the hostile-input corpus to a throw-away deployment and check every outcome',
    module: './check-hostile.ts',
  },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: rainstream <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    "`rainstream <command> --help` prints a command's options. Configuration comes from the environment",
    '(KAFKA_BROKERS, CLICKHOUSE_URL, TOPIC_PREFIX, ...; see the README).',
  ].join('\n');
}

const [name, ...rest] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
  console.log(usage());
  process.exitCode = name === undefined ? 2 : 0;
} else if (!(name in COMMANDS)) {
  console.error(`rainstream: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
  process.exitCode = 2;
} else {
  const command = COMMANDS[name]!;
  if (command.module === null) {
    const script = fileURLToPath(new URL('./stack', import.meta.url));
    const args = rest.length === 0 || rest[0] === '--help' ? ['help'] : rest;
    process.exitCode = spawnSync('bash', [script, ...args], { stdio: 'inherit' }).status ?? 1;
  } else {
    const { main } = (await import(command.module)) as { main: (argv: readonly string[]) => Promise<void> };
    await main(rest);
  }
}
