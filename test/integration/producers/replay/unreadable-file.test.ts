/**
 * `rainstream replay --file` of a file none of whose rows can be read (empty, no header line, a header
 * without a required column, not gzip data): the process is the real command against the real Kafka and
 * registry. The file's refusal is a DLQ record naming the header or the file, at line 1, with the reason,
 * and the command ends normally (the rows are accounted for, not a crash): the pipeline goes on.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDlqHeaders } from '../../../../lib/platform/kafka/dlq.ts';
import { testContext, type TestContext } from '../../../support/integration.ts';
import { ROOT } from '../../../support/pipeline-process.ts';

const HEADER =
  'Date,Location,MinTemp,MaxTemp,Rainfall,Evaporation,Sunshine,WindGustDir,WindGustSpeed,WindDir9am,WindDir3pm,WindSpeed9am,WindSpeed3pm,Humidity9am,Humidity3pm,Pressure9am,Pressure3pm,Cloud9am,Cloud3pm,Temp9am,Temp3pm,RainToday,RainTomorrow';
const ROW =
  '2009-01-01,Albury,13.4,22.9,0.6,NA,NA,W,44,W,WNW,20,24,71,22,1007.7,1007.1,8,NA,16.9,21.8,No,Yes';

function runReplay(
  file: string,
  env: Record<string, string>,
): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['ops/rainstream.ts', 'replay', '--file', file, '--quiet'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, output })));
}

describe('replay of a file with no readable row', () => {
  let ctx: TestContext;
  const dir = mkdtempSync(join(tmpdir(), 'replay-unreadable-'));

  beforeAll(async () => {
    ctx = await testContext('replay-unreadable');
    await ctx.ensureTopics();
    await ctx.registerSchemas();
  });

  afterAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    await ctx?.cleanup();
  });

  it('sends the refusal of each file to the DLQ at line 1 and ends normally', async () => {
    const files = [
      { name: 'empty.csv', bytes: '', field: 'header', reason: /empty/ },
      {
        name: 'headerless.csv',
        bytes: `${ROW}\n${ROW.replace('2009-01-01', '2009-01-02')}\n`,
        field: 'header',
        reason: /lacks columns/,
      },
      {
        name: 'no-humidity.csv',
        bytes: `${HEADER.replace(',Humidity3pm', '')}\n${ROW.replace(',22,1007.7', ',1007.7')}\n`,
        field: 'header',
        reason: /lacks columns: Humidity3pm/,
      },
      { name: 'junk.csv.gz', bytes: 'this is not gzip data', field: 'file', reason: /gzip/ },
    ];
    for (const f of files) {
      const path = join(dir, f.name);
      writeFileSync(path, f.bytes);
      const run = await runReplay(path, { ...ctx.env, LOG_LEVEL: 'error' });
      expect(run.code, `${f.name}: ${run.output.slice(-1000)}`).toBe(0);
    }
    const records = await ctx.consume(ctx.config.topics.observationsDlq, files.length, { timeoutMs: 60_000 });
    const byFile = new Map(
      records.map((r) => {
        const h = readDlqHeaders(r.headers);
        return [
          h.sourceTopic
            .replace(/^file:/, '')
            .split('/')
            .at(-1)!,
          { h, value: r.value },
        ];
      }),
    );
    for (const f of files) {
      const dlq = byFile.get(f.name);
      expect(dlq, f.name).toBeDefined();
      expect(dlq!.h, f.name).toMatchObject({ field: f.field, sourceOffset: '1', stage: 'replay' });
      expect(dlq!.h.reason, f.name).toMatch(f.reason);
    }
    // The value is the line refused: the header as written (here the data row read as one).
    expect(byFile.get('headerless.csv')!.value!.toString()).toBe(ROW);
  });
});
