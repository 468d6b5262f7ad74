/**
 * The trainer shell on the real stack: it trains only once it has read the labeled log as it stood at its
 * start (the weeks closed while rebuilding become one run on the whole history, not a run on a partial
 * one), and it runs each command of the commands topic once, whatever redelivers it: sent twice, or read
 * again after a restart from the start of the topic.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTrainerStage } from '../../../../consumers/trainer/shell.ts';
import type { RunningStage, StageDeps } from '../../../../consumers/shell/stage.ts';
import {
  operatorCommand,
  type Command,
  type EventCodec,
  type LabeledExample,
} from '../../../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../../../lib/domain/features/feature-set.ts';
import { addDays } from '../../../../lib/domain/time.ts';
import { loadConfig, type Config } from '../../../../lib/platform/config.ts';
import type { Producer } from '../../../../lib/platform/kafka/client.ts';
import { createProducer, sendBounded } from '../../../../lib/platform/kafka/producer.ts';
import { createMetrics } from '../../../../lib/platform/metrics.ts';
import { startChampionWatcher, type ChampionWatcher } from '../../../../lib/models/champion-watcher.ts';
import { pollUntil, testContext, type TestContext } from '../../../support/integration.ts';
import { TASKS } from '../../../../lib/models/tasks.ts';
import { readDlqHeaders } from '../../../../lib/platform/kafka/dlq.ts';

const STATIONS = ['Albury', 'Canberra', 'Sydney', 'Melbourne', 'Brisbane', 'Perth', 'Adelaide', 'Hobart'];
/**
 * 2010-01-04 is a Monday: 12 whole weeks of labels, then three days of week 13. The trainer counts a label
 * in the week of its date minus BOUNDARY_GRACE_DAYS (2): the Wednesday closes week 12, and the first
 * Monday and Tuesday fall in the week before 2010-01-04.
 */
const FIRST = '2010-01-04';
const DAYS = 12 * 7 + 3;

/** Labeled examples with a signal on the first feature, deterministic. */
function examples(from: number, to: number): LabeledExample[] {
  const out: LabeledExample[] = [];
  let seed = 7;
  const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
  for (let d = 0; d < to; d++) {
    for (const location of STATIONS) {
      const x = random();
      const values = FEATURE_NAMES.map(() => random());
      values[0] = x;
      const label = random() < 0.15 + 0.6 * x;
      if (d >= from)
        out.push({
          location,
          date: addDays(FIRST, d),
          featureSetVersion: FEATURE_SET_VERSION,
          values,
          label,
          rainfallNext: label ? 3 : 0,
          task: 'rain',
          target: null,
          value: null,
          probability: 0.2,
          modelVersion: 'prior',
        });
    }
  }
  return out;
}

interface RunRow {
  run_id: string;
  week: string;
  data_until: string;
  rows: string;
  coalesced_weeks: number;
  requested_by: string;
  command_id: string;
  request_reason: string;
  ver: string;
}

describe('trainer shell', () => {
  let ctx: TestContext;
  let config: Config;
  let codec: EventCodec;
  let producer: Producer;
  let champion: ChampionWatcher;
  let maxTempChampion: ChampionWatcher;
  let stage: RunningStage | null = null;
  let metrics = createMetrics();

  const runs = async () =>
    ctx.clickhouse.rows<RunRow>(
      `SELECT run_id, toString(week) AS week, toString(data_until) AS data_until, rows, coalesced_weeks,
         requested_by, command_id, request_reason, toString(ver) AS ver
       FROM training_runs FINAL ORDER BY run_id`,
    );
  const start = async () => {
    const deps: StageDeps = {
      config,
      logger: ctx.logger,
      kafka: ctx.kafka,
      producer,
      codec,
      redis: ctx.redis,
      clickhouse: ctx.clickhouse,
      metrics: (metrics = createMetrics()),
      champion,
      champions: new Map([
        ['rain', champion],
        ['max_temp', maxTempChampion],
      ]),
    };
    stage = await startTrainerStage(deps);
  };
  const stop = async () => {
    await stage?.stop();
    stage = null;
  };
  const sendCommands = (commands: Command[]) =>
    sendBounded(
      producer,
      config.topics.commands,
      commands.map((c) => ({ key: 'retrain', value: codec.encode('command', c) })),
    );

  beforeAll(async () => {
    ctx = await testContext('trainer');
    config = loadConfig({ ...ctx.env, RETRAIN_MIN_ROWS: '100', RETRAIN_FAMILIES: 'climatology,logreg' });
    await ctx.ensureTopics();
    codec = await ctx.registerSchemas();
    producer = createProducer(ctx.kafka);
    await producer.connect();
    champion = await startChampionWatcher({
      kafka: ctx.kafka,
      codec,
      clickhouse: ctx.clickhouse,
      topics: config.topics,
      logger: ctx.logger,
    });
    maxTempChampion = await startChampionWatcher({
      kafka: ctx.kafka,
      codec,
      clickhouse: ctx.clickhouse,
      topics: config.topics,
      logger: ctx.logger,
      task: TASKS.max_temp,
    });
  });

  afterAll(async () => {
    await stop();
    await champion?.close();
    await maxTempChampion?.close();
    await producer?.disconnect();
    await ctx?.cleanup();
  });

  it('trains once on the whole rebuilt history, not on the part read when the first week closed', async () => {
    const history = examples(0, DAYS);
    await sendBounded(
      producer,
      config.topics.labeled,
      history.map((e) => ({ key: e.location, value: codec.encode('labeled', e) })),
    );
    await start();
    const [run] = await pollUntil(async () => ((await runs()).length > 0 ? runs() : null), {
      timeoutMs: 120_000,
      what: 'the first training run',
    });
    // Every week closed while rebuilding (the 13th week has only begun) in one run, on all rows before it.
    const boundary = addDays(FIRST, 12 * 7);
    expect(run).toMatchObject({
      run_id: `week-${boundary}`,
      data_until: addDays(boundary, -1),
      coalesced_weeks: 13,
      requested_by: 'schedule',
    });
    // Trained on the rows before the 8 validation weeks: all of them were in the history.
    expect(Number(run!.rows)).toBe(4 * 7 * STATIONS.length);
    // Nothing else was due: one run only.
    expect(await runs()).toHaveLength(1);
    // Measured like every stage: each labeled record once from its Kafka timestamp, and the run's seconds.
    const scrape = async () => metrics.registry.metrics();
    const text = await pollUntil(
      async () => {
        const t = await scrape();
        return /^rainstream_training_run_seconds_count\{task="rain",outcome="trained"\} 1$/m.test(t)
          ? t
          : null;
      },
      { timeoutMs: 10_000, what: "the run's seconds in the metrics" },
    );
    expect(text).toMatch(
      new RegExp(
        `^rainstream_stage_event_latency_seconds_count\\{stage="trainer"\\} ${history.length}$`,
        'm',
      ),
    );
    expect(text).toMatch(/^rainstream_stage_batch_seconds_count\{stage="trainer"\} [1-9]\d*$/m);
    expect(text).toMatch(/^rainstream_training_runs_total\{task="rain",outcome="trained"\} 1$/m);
    const seconds = Number(
      /^rainstream_training_run_seconds_sum\{task="rain",outcome="trained"\} (\S+)$/m.exec(text)![1],
    );
    expect(seconds).toBeGreaterThan(0);
  });

  it('runs a command once, under its id and with its reason, however often it is delivered', async () => {
    const first = operatorCommand({
      id: 'ops-1',
      kind: 'retrain',
      reason: 'new sensor calibration',
      requestedBy: 'alice',
      at: Date.now(),
    });
    const drift: Command = {
      ...operatorCommand({
        id: 'drift:inc-42',
        kind: 'retrain',
        reason: 'Pressure3pm shifted at Sydney',
        requestedBy: 'drift',
        at: Date.now(),
      }),
      incidentId: 'inc-42',
      station: 'Sydney',
      feature: 'Pressure3pm',
      driftKind: 'shift',
      week: '2010-03-15',
    };
    await sendCommands([first]);
    const once = await pollUntil(async () => (await runs()).find((r) => r.command_id === 'ops-1'), {
      timeoutMs: 120_000,
      what: "the operator command's run",
    });
    expect(once).toMatchObject({
      run_id: 'command-ops-1',
      requested_by: 'alice',
      request_reason: 'new sensor calibration',
      coalesced_weeks: 0,
      // Every labeled row held, the days of the week in progress included.
      data_until: addDays(FIRST, DAYS - 1),
    });
    // The same command again, then drift's: the commands topic is read in order, so once drift's run is
    // recorded the repeat has been handled.
    await sendCommands([first, drift]);
    await pollUntil(async () => (await runs()).some((r) => r.command_id === 'drift:inc-42'), {
      timeoutMs: 120_000,
      what: "drift's command run",
    });
    const after = await runs();
    expect(after.find((r) => r.command_id === 'ops-1')!.ver).toBe(once.ver);
    expect(after.find((r) => r.command_id === 'drift:inc-42')).toMatchObject({
      requested_by: 'drift',
      request_reason: 'Pressure3pm shifted at Sydney',
    });
    // A command's models have versions of their own, apart from the weekly run's.
    const models = await ctx.clickhouse.rows<{ version: string }>(
      `SELECT version FROM models FINAL WHERE version LIKE 'logreg-%' ORDER BY version`,
    );
    expect(new Set(models.map((m) => m.version)).size).toBe(3);
    // A command's batch is measured apart from the labeled ones (it lasts as long as the runs it waits for).
    expect(await metrics.registry.metrics()).toMatch(
      /^rainstream_stage_batch_seconds_count\{stage="trainer-commands"\} [1-9]\d*$/m,
    );
  });

  it("runs a command in its task's lane, and sends a command for a task not trained here to the DLQ", async () => {
    const maxTemp = operatorCommand({
      id: 'ops-mt-1',
      kind: 'retrain',
      task: 'max_temp',
      reason: 'new thermometers',
      requestedBy: 'carol',
      at: Date.now(),
    });
    const snow = { ...operatorCommand({ ...maxTemp, id: 'ops-snow-1' }), task: 'snow' };
    await sendCommands([snow, maxTemp]);
    const run = await pollUntil(
      async () =>
        (
          await ctx.clickhouse.rows<{ task: string; run_id: string; request_reason: string }>(
            `SELECT task, run_id, request_reason FROM training_runs FINAL WHERE command_id = 'ops-mt-1'`,
          )
        )[0],
      { timeoutMs: 120_000, what: "max_temp's command run" },
    );
    // max_temp's lane has no labeled rows here: the command is recorded as run, as max_temp's.
    expect(run).toMatchObject({ task: 'max_temp', request_reason: 'new thermometers' });
    expect(run.run_id.startsWith('max_temp:')).toBe(true);
    expect(await runs()).not.toContainEqual(expect.objectContaining({ command_id: 'ops-snow-1' }));
    const [dlq] = await ctx.consume(config.topics.observationsDlq, 1);
    expect(readDlqHeaders(dlq!.headers)).toMatchObject({
      field: 'task',
      reason: expect.stringMatching(/"snow" is not trained here/),
      stage: 'trainer',
    });
  });

  it('after a restart reading every command again, runs none twice and trains no week twice', async () => {
    const before = await runs();
    await stop();
    const admin = ctx.kafka.admin();
    await admin.connect();
    try {
      await admin.setOffsets({
        groupId: `${config.groupPrefix}.trainer-commands`,
        topic: config.topics.commands,
        partitions: [{ partition: 0, offset: '0' }],
      });
    } finally {
      await admin.disconnect();
    }
    await start();
    // A new command after the redelivered ones: once it ran, they were all read.
    await sendCommands([
      operatorCommand({
        id: 'ops-2',
        kind: 'retrain',
        reason: 'after restart',
        requestedBy: 'bob',
        at: Date.now(),
      }),
    ]);
    await pollUntil(async () => (await runs()).some((r) => r.command_id === 'ops-2'), {
      timeoutMs: 120_000,
      what: 'the command sent after the restart',
    });
    const after = await runs();
    expect(after).toHaveLength(before.length + 1);
    for (const r of before) expect(after.find((a) => a.run_id === r.run_id)!.ver).toBe(r.ver);
  });
});
