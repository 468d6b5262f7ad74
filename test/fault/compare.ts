/**
 * What a fault run is judged by: its outputs against a fault-free run of the same slice. Pure; the
 * suite reads both runs into snapshots (snapshot.ts) and compares them here.
 */

/** Per key (station|date, or station for latest forecasts), a canonical text of the content compared. */
export type Keyed = ReadonlyMap<string, string>;

export interface TopicKeys {
  records: number;
  keys: number;
  /** Records beyond the first of their (station, date). */
  duplicated: number;
}

export interface RunSnapshot {
  tables: Readonly<Record<string, Keyed>>;
  topics: Readonly<Record<string, TopicKeys>>;
}

export interface Diff {
  expected: number;
  found: number;
  /** Keys of the fault-free run missing from the fault run. */
  lost: number;
  /** Keys the fault run has that the fault-free run has not. */
  extra: number;
  /** Keys in both whose content differs. */
  differing: number;
  /** A few differing or missing keys, for the report. */
  examples: string[];
}

export function diffKeyed(expected: Keyed, found: Keyed, maxExamples = 3): Diff {
  let lost = 0;
  let differing = 0;
  const examples: string[] = [];
  for (const [key, content] of expected) {
    const other = found.get(key);
    if (other === undefined) {
      lost++;
      if (examples.length < maxExamples) examples.push(`lost ${key}`);
    } else if (other !== content) {
      differing++;
      if (examples.length < maxExamples) examples.push(`differs ${key}: ${content} / ${other}`);
    }
  }
  let extra = 0;
  for (const key of found.keys()) {
    if (!expected.has(key)) {
      extra++;
      if (examples.length < maxExamples) examples.push(`extra ${key}`);
    }
  }
  return { expected: expected.size, found: found.size, lost, extra, differing, examples };
}

export interface RunVerdict {
  expected: number;
  found: number;
  lost: number;
  /** Duplicate records over every topic (tables cannot hold two rows of a key after FINAL). */
  duplicated: number;
  /** Differing content, plus keys that should not be there at all. */
  differing: number;
  perTable: Record<string, Diff>;
  perTopic: Record<string, TopicKeys & { expectedRecords: number }>;
}

/**
 * Tables named in `judged` count towards the verdict; the others (e.g. one whose stage is still being
 * rewritten) are reported beside it. A topic holding fewer records than in the fault-free run counts its
 * shortfall as lost (an output the tables might hide).
 */
export function judgeRun(
  baseline: RunSnapshot,
  run: RunSnapshot,
  judged: readonly string[] = Object.keys(baseline.tables),
): RunVerdict {
  const perTable: Record<string, Diff> = {};
  let expected = 0;
  let found = 0;
  let lost = 0;
  let differing = 0;
  for (const [table, keyed] of Object.entries(baseline.tables)) {
    const diff = diffKeyed(keyed, run.tables[table] ?? new Map());
    perTable[table] = diff;
    if (!judged.includes(table)) continue;
    expected += diff.expected;
    found += diff.found;
    lost += diff.lost;
    differing += diff.differing + diff.extra;
  }
  const perTopic: RunVerdict['perTopic'] = {};
  let duplicated = 0;
  for (const [topic, keys] of Object.entries(run.topics)) {
    const base = baseline.topics[topic];
    perTopic[topic] = { ...keys, expectedRecords: base?.records ?? 0 };
    duplicated += keys.duplicated;
    if (base && keys.keys < base.keys) lost += base.keys - keys.keys;
  }
  return { expected, found, lost, duplicated, differing, perTable, perTopic };
}
