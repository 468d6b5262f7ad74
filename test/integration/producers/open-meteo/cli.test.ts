/**
 * `rainstream ingest` as a process, on the real stack, against the stand-in API: JSON log lines only,
 * the run's summary line, a second backfill that asks for nothing, remap, the daily scheduler stopped
 * by SIGTERM, and the usage texts.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventCodec } from '../../../../lib/domain/events.ts';
import { startOpenMeteoStandIn, type OpenMeteoStandIn } from '../../../support/open-meteo-server.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';
import { countsByDay, observationsOnTopic } from './kafka-harness.ts';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

type LogLine = Record<string, unknown> & { msg?: string };

function jsonLines(stdout: string): LogLine[] {
  return stdout
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as LogLine);
}

describe('rainstream ingest', () => {
  let ctx: TestContext;
  let codec: EventCodec;
  let server: OpenMeteoStandIn;
  let dir: string;
  let env: Record<string, string>;

  const ingest = async (...args: string[]) => {
    const { stdout, stderr } = await run(process.execPath, ['ops/rainstream.ts', 'ingest', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    return { lines: jsonLines(stdout), stderr };
  };

  beforeAll(async () => {
    ctx = await testContext('ingest_cli');
    codec = await ctx.registerSchemas();
    server = await startOpenMeteoStandIn();
    dir = await mkdtemp(join(tmpdir(), 'rainstream-ingest-'));
    const stations = join(dir, 'stations.json');
    await writeFile(
      stations,
      JSON.stringify({
        stations: [
          { name: 'Marrakech', latitude: 31.6295, longitude: -7.9811, timezone: 'Africa/Casablanca' },
          { name: 'Agadir', latitude: 30.4278, longitude: -9.5981, timezone: 'Africa/Casablanca' },
        ],
      }),
    );
    env = {
      ...ctx.env,
      LOG_LEVEL: 'info',
      OPEN_METEO_ARCHIVE_URL: server.archiveUrl,
      OPEN_METEO_FORECAST_URL: server.forecastUrl,
      OPEN_METEO_STATIONS_FILE: stations,
    };
  });

  afterAll(async () => {
    await server?.close();
    await ctx?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('backfills a month of one station, logging JSON lines and a summary of the run', async () => {
    const { lines, stderr } = await ingest(
      'backfill',
      '--stations',
      'Marrakech',
      '--from',
      '2024-01-01',
      '--to',
      '2024-01-31',
    );
    // Every line of output is a JSON log line; nothing else is printed.
    expect(stderr).toBe('');
    const summary = lines.find((l) => l.msg === 'backfill finished')!;
    expect(summary).toMatchObject({
      command: 'ingest backfill',
      days: { ingested: 31, identical: 0, conflicts: 0, rejected: 0 },
      answers: 1,
      openMeteo: { requests: 1, rateLimited: 0, apiErrors: 0, retries: 0 },
    });
    const metrics = lines.find((l) => l.msg === 'metrics')!;
    expect(metrics.metrics).toMatchObject({
      open_meteo_calls_total: 1,
      'open_meteo_days_total{outcome=ingested}': 31,
    });
    const counts = countsByDay(await observationsOnTopic(ctx, codec));
    expect(counts.size).toBe(31);
    expect([...counts.keys()].every((k) => k.startsWith('Marrakech '))).toBe(true);
  });

  it('asks for nothing the second time, and remaps the raw topic to the same days', async () => {
    const calls = server.requests.length;
    const again = await ingest(
      'backfill',
      '--stations',
      'Marrakech',
      '--from',
      '2024-01-01',
      '--to',
      '2024-01-31',
    );
    expect(server.requests.length).toBe(calls);
    expect(again.lines.find((l) => l.msg === 'backfill finished')).toMatchObject({
      days: { ingested: 0 },
      openMeteo: { requests: 0 },
    });
    const remap = await ingest('remap', '--stations', 'Marrakech');
    expect(remap.lines.find((l) => l.msg === 'remap finished')).toMatchObject({
      days: { ingested: 0, identical: 31, conflicts: 0, rejected: 0 },
      answers: 1,
    });
    expect(server.requests.length).toBe(calls);
    expect(await observationsOnTopic(ctx, codec)).toHaveLength(31);
  });

  it('runs the daily scheduler until SIGTERM: it catches up first, then waits for the next run', async () => {
    const child = spawn(process.execPath, ['ops/rainstream.ts', 'ingest', 'daily'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await pollUntil(() => stdout.includes('next daily run scheduled'), {
        timeoutMs: 60_000,
        what: 'the first daily run',
      });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
    const lines = jsonLines(stdout);
    const run = lines.find((l) => l.msg === 'daily run finished')!;
    // Marrakech catches up every day since January 2024 (archive, then the forecast API for the last
    // months); Agadir, never ingested, owes yesterday only.
    const owed = run.owed as Record<string, string[]>;
    expect(owed.Marrakech![0]).toBe('2024-02-01');
    expect(owed.Agadir).toEqual([owed.Marrakech!.at(-1)]);
    expect(run.days).toMatchObject({ ingested: owed.Marrakech!.length + 1, rejected: 0, conflicts: 0 });
    expect(run.failures).toEqual([]);
    // The order of the shutdown, not the last lines: a client's own log line may land after them.
    const msgs = lines.map((l) => l.msg);
    const stopping = msgs.indexOf('stopping');
    expect(stopping, msgs.slice(-5).join(' | ')).toBeGreaterThan(-1);
    expect(msgs.indexOf('daily ingestion stopped', stopping)).toBeGreaterThan(stopping);
    expect(msgs.lastIndexOf('metrics')).toBeGreaterThan(msgs.indexOf('daily ingestion stopped'));
  });

  it('prints usage: the command, each subcommand; refuses an unknown one', async () => {
    const top = await run(process.execPath, ['ops/rainstream.ts', 'ingest', '--help'], { cwd: ROOT });
    expect(top.stdout).toMatch(/backfill[\s\S]*daily[\s\S]*remap/);
    expect(top.stdout).toContain('Weather data by Open-Meteo.com (CC BY 4.0)');
    for (const sub of ['backfill', 'daily', 'remap']) {
      const { stdout } = await run(process.execPath, ['ops/rainstream.ts', 'ingest', sub, '--help'], {
        cwd: ROOT,
      });
      expect(stdout).toContain(`usage: rainstream ingest ${sub}`);
    }
    const unknown = await run(process.execPath, ['ops/rainstream.ts', 'ingest', 'forecast'], {
      cwd: ROOT,
    }).catch((e: { code: number; stderr: string }) => e);
    expect(unknown).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('unknown subcommand "forecast"'),
    });
  });
});
