import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseArgs, UsageError, wantsHelp } from '../../../../../lib/platform/cli/args.ts';
import { replayOptionsSchema } from '../../../../../producers/replay/replay.ts';

describe('parseArgs', () => {
  it('reads --name value, --name=value and flags, camel-casing names', () => {
    const schema = z.strictObject({ warmupUntil: z.string(), speed: z.coerce.number(), quiet: z.boolean() });
    expect(parseArgs(['--warmup-until', '2010-01-01', '--speed=5', '--quiet'], schema)).toEqual({
      warmupUntil: '2010-01-01',
      speed: 5,
      quiet: true,
      _: [],
    });
  });

  it('names the bad option and the reason', () => {
    expect(() => parseArgs(['--from', '2010-02-30'], replayOptionsSchema)).toThrow(
      /--from: expected a calendar date/,
    );
    expect(() => parseArgs(['--speed', '-1'], replayOptionsSchema)).toThrow(UsageError);
    expect(() => parseArgs(['--bogus', '1'], replayOptionsSchema)).toThrow(/bogus/);
    expect(() => parseArgs(['stray'], replayOptionsSchema)).toThrow(/unexpected argument/);
  });

  it('parses the replay options with their defaults', () => {
    expect(parseArgs(['--locations', 'Sydney, Perth', '--limit', '10'], replayOptionsSchema)).toEqual({
      locations: ['Sydney', 'Perth'],
      limit: 10,
      speed: 0,
      quiet: false,
      _: [],
    });
  });

  it('takes positionals only where the command allows them, and names an unknown option', () => {
    const schema = z.strictObject({});
    expect(parseArgs(['promote', 'gbdt-2015-01-05'], schema, { positionals: 2 })._).toEqual([
      'promote',
      'gbdt-2015-01-05',
    ]);
    expect(() => parseArgs(['a', 'b', 'c'], schema, { positionals: 2 })).toThrow(/unexpected argument "c"/);
    expect(() => parseArgs(['--max-lead-days', '3'], schema)).toThrow(/unknown option --max-lead-days/);
  });

  it('recognises --help and -h anywhere', () => {
    expect(wantsHelp(['--from', '2010-01-01', '--help'])).toBe(true);
    expect(wantsHelp(['-h'])).toBe(true);
    expect(wantsHelp(['--helpful'])).toBe(false);
  });
});
