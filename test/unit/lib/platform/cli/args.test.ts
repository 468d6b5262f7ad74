import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseArgs, UsageError } from '../../../../../lib/platform/cli/args.ts';
import { replayOptionsSchema } from '../../../../../producers/replay/replay.ts';

describe('parseArgs', () => {
  it('reads --name value, --name=value and flags, camel-casing names', () => {
    const schema = z.strictObject({ warmupUntil: z.string(), speed: z.coerce.number(), quiet: z.boolean() });
    expect(parseArgs(['--warmup-until', '2010-01-01', '--speed=5', '--quiet'], schema)).toEqual({
      warmupUntil: '2010-01-01',
      speed: 5,
      quiet: true,
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
    });
  });
});
