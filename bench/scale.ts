/**
 * bench:scale — scale-out by processes: 1, 2 and 3 pipeline processes (features, predictor, labeler) in
 * the same consumer groups over topics of 12 partitions, each count on a deployment of its own, the slice
 * replayed as fast as Kafka takes it; then, on one more deployment with a paced replay, the rebalance
 * pause when a process joins, when one leaves on SIGTERM and when one is SIGKILLed. Every run ends with
 * the topics read back: lost and duplicated (station, date) records.
 *
 * On a 2-core machine, 2 or 3 processes compete for the same two cores: this measures the overhead of
 * scaling out (more consumers, more transactional producers, rebalances), not a speed-up.
 */
import { createWriteStream, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readWeatherCsvFile } from '../lib/domain/weather/csv.ts';
import { registerEvents, type EventCodec } from '../lib/domain/events.ts';
import { waitForDrain } from '../lib/deployment/drain.ts';
import { removeDeployment } from '../lib/deployment/teardown.ts';
import { createClickHouse } from '../lib/platform/clickhouse/client.ts';
import { loadConfig, type Config } from '../lib/platform/config.ts';
import { createKafka, type Kafka } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import type { Logger } from '../lib/platform/log.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { planReplay } from '../producers/replay/plan.ts';
import { replay, type ReplayOptions } from '../producers/replay/replay.ts';
import {
  countKeys,
  keysOn,
  startPipelineProcess,
  type PipelineProcess,
} from '../test/support/pipeline-process.ts';
import { benchDeployment } from './lib/deployment.ts';
import { fmt, formatTable, progress, summaryLine } from './lib/report.ts';

const PARTITIONS = 12;
const STAGES = ['features', 'predictor', 'labeler'];
const GROUPS = [
  ['features', 'observations'],
  ['predictor', 'features'],
  ['labeler', 'predictions'],
] as const;
const SLICE: ReplayOptions = { from: '2013-01-01', to: '2014-12-31', speed: 0, quiet: true };
const PACED: ReplayOptions = { from: '2013-01-01', to: '2016-12-31', speed: 20, quiet: true };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Deployment {
  config: Config;
  logger: Logger;
  kafka: Kafka;
  codec: EventCodec;
  env: Record<string, string>;
}

async function deployment(name: string): Promise<Deployment> {
  const { config, logger } = await benchDeployment(name, {
    RETRAIN_ENABLED: 'false',
    TOPIC_PARTITIONS: String(PARTITIONS),
    LOG_LEVEL: 'warn',
  });
  const env = {
    TOPIC_PREFIX: config.topics.observations.replace(/\.observations\.v1$/, ''),
    REDIS_PREFIX: config.redis.prefix,
    CLICKHOUSE_DATABASE: config.clickhouse.database,
    TOPIC_PARTITIONS: String(PARTITIONS),
    RETRAIN_ENABLED: 'false',
    LOG_LEVEL: 'info',
  };
  const kafka = createKafka(config, logger);
  const codec = await registerEvents(createSchemaRegistry(config), config.topics);
  return { config, logger, kafka, codec, env };
}

async function startProcesses(d: Deployment, n: number): Promise<PipelineProcess[]> {
  const processes = await Promise.all(
    Array.from({ length: n }, () => startPipelineProcess({ env: d.env, stages: STAGES })),
  );
  await Promise.all(processes.map((p) => p.waitReady(180_000)));
  return processes;
}

async function topicCheck(d: Deployment, events: number) {
  const topics = {
    features: countKeys(await keysOn(d.kafka, d.codec, d.config.topics.features, 'features')),
    predictions: countKeys(await keysOn(d.kafka, d.codec, d.config.topics.predictions, 'prediction')),
    labeled: countKeys(await keysOn(d.kafka, d.codec, d.config.topics.labeled, 'labeled')),
  };
  const lost = Math.max(0, events - topics.features.keys) + Math.max(0, events - topics.predictions.keys);
  const duplicated = Object.values(topics).reduce((s, t) => s + t.duplicated, 0);
  return { lost, duplicated };
}

/** Per group and partition, the committed offset and the end offset, every `intervalMs`. */
async function samplePartitions(d: Deployment, intervalMs = 100) {
  const admin = d.kafka.admin();
  await admin.connect();
  const samples: { at: number; committed: Map<string, number>; lagging: Set<string> }[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const committed = new Map<string, number>();
        const lagging = new Set<string>();
        for (const [stage, input] of GROUPS) {
          const topic = d.config.topics[input];
          const [ends, [offsets]] = await Promise.all([
            admin.fetchTopicOffsets(topic),
            admin.fetchOffsets({ groupId: `${d.config.groupPrefix}.${stage}`, topics: [topic] }),
          ]);
          for (const end of ends) {
            const key = `${stage}[${end.partition}]`;
            const c = Number(offsets?.partitions.find((p) => p.partition === end.partition)?.offset ?? -1);
            committed.set(key, c);
            // More than the commit marker left to read: this partition has work waiting.
            if (Number(end.high) - Math.max(c, Number(end.low)) > 1) lagging.add(key);
          }
        }
        samples.push({ at: Date.now(), committed, lagging });
      } catch {
        // A sample lost to a busy broker is just not taken.
      }
      await sleep(intervalMs);
    }
  })();
  return {
    /**
     * The longest time, in [from, to], that any partition with work waiting went without a commit: how
     * long the partitions a rebalance moved stood still.
     */
    longestStall(from: number, to: number): number {
      let longest = 0;
      const since = new Map<string, number>();
      let previous: (typeof samples)[number] | undefined;
      for (const s of samples) {
        if (s.at < from || s.at > to) {
          previous = s;
          continue;
        }
        for (const [key, c] of s.committed) {
          const moved = previous === undefined || previous.committed.get(key) !== c;
          if (moved || !s.lagging.has(key)) since.delete(key);
          else if (!since.has(key)) since.set(key, previous!.at);
          const start = since.get(key);
          if (start !== undefined) longest = Math.max(longest, s.at - start);
        }
        previous = s;
      }
      return longest / 1000;
    },
    async stop() {
      stopped = true;
      await loop;
      await admin.disconnect();
    },
  };
}

const rows = await readWeatherCsvFile(loadConfig().dataFile);
const events = planReplay(rows, SLICE).events;
const REPS = 3;
const runs: { processes: number; wall: number; eventsPerS: number; lost: number; duplicated: number }[] = [];

// Counts interleaved (1, 2, 3, 1, 2, 3, ...) so that the noise of a shared machine spreads over all of them.
for (let rep = 1; rep <= REPS; rep++) {
  for (const n of [1, 2, 3]) {
    const d = await deployment(`scale${n}`);
    progress(
      `rep ${rep}: ${n} process(es), ${PARTITIONS} partitions, ${events} observations as fast as possible`,
    );
    const processes = await startProcesses(d, n);
    const producer = createProducer(d.kafka);
    await producer.connect();
    const clickhouse = createClickHouse(d.config.clickhouse);
    const t0 = performance.now();
    await replay(rows, 'slice', SLICE, {
      producer,
      codec: d.codec,
      topics: d.config.topics,
      logger: d.logger,
    });
    await waitForDrain(clickhouse, { predictions: events, pollMs: 200 });
    // waitForDrain returns once the label tables stood still for a second.
    const wall = (performance.now() - t0) / 1000 - 1;
    const check = await topicCheck(d, events);
    runs.push({ processes: n, wall, eventsPerS: events / wall, ...check });
    for (const p of processes) await p.kill('SIGTERM');
    await producer.disconnect();
    await clickhouse.close();
    await removeDeployment(d.config, d.logger);
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const throughput = [1, 2, 3].map((n) => {
  const mine = runs.filter((r) => r.processes === n);
  return {
    processes: n,
    wall: median(mine.map((r) => r.wall)),
    eventsPerS: median(mine.map((r) => r.eventsPerS)),
    all: mine.map((r) => r.eventsPerS),
    lost: mine.reduce((s, r) => s + r.lost, 0),
    duplicated: mine.reduce((s, r) => s + r.duplicated, 0),
  };
});

progress(`rebalances: ${planReplay(rows, PACED).events} observations paced at ${PACED.speed} days/s`);
const d = await deployment('scale_rebalance');
const pacedEvents = planReplay(rows, PACED).events;
const logDir = mkdtempSync(join(tmpdir(), 'rainstream-scale-'));
const logTo = (name: string) => {
  const file = createWriteStream(join(logDir, `${name}.log`));
  return (line: string) => file.write(`${line}\n`);
};
const first = await startPipelineProcess({ env: d.env, stages: STAGES, output: logTo('first') });
await first.waitReady(180_000);
const sampler = await samplePartitions(d);
const producer = createProducer(d.kafka);
await producer.connect();
const clickhouse = createClickHouse(d.config.clickhouse);
const replaying = replay(rows, 'paced', PACED, {
  producer,
  codec: d.codec,
  topics: d.config.topics,
  logger: d.logger,
});
// One event every 16 s while the paced replay (72 s) runs: each window is measured on its own.
const steadyFrom = Date.now();
await sleep(10_000);
const joinAt = Date.now();
const second = await startPipelineProcess({ env: d.env, stages: STAGES, output: logTo('second') });
await second.waitReady(180_000);
await sleep(16_000 - (Date.now() - joinAt));
const join3At = Date.now();
const third = await startPipelineProcess({ env: d.env, stages: STAGES, output: logTo('third') });
await third.waitReady(180_000);
await sleep(16_000 - (Date.now() - join3At));
const leaveAt = Date.now();
await third.kill('SIGTERM');
await sleep(14_000);
const killAt = Date.now();
await second.kill('SIGKILL');
await sleep(14_000);
const endAt = Date.now();
await replaying;
await waitForDrain(clickhouse, { predictions: pacedEvents, pollMs: 200 });
await sampler.stop();
const steady = sampler.longestStall(steadyFrom, joinAt);
const joinPause = sampler.longestStall(joinAt, join3At);
const join3Pause = sampler.longestStall(join3At, leaveAt);
const leavePause = sampler.longestStall(leaveAt, killAt);
const killPause = sampler.longestStall(killAt, endAt);
const pacedCheck = await topicCheck(d, pacedEvents);
await first.kill('SIGTERM');
await producer.disconnect();
await clickhouse.close();
await removeDeployment(d.config, d.logger);

console.log(
  `\nbench:scale — ${events} observations, ${PARTITIONS} partitions, stages ${STAGES.join(',')} per process (2 cores: overhead, not speed-up)\n`,
);
console.log(
  formatTable(
    [
      'processes',
      'wall s (median)',
      'events/s (median)',
      `events/s of the ${REPS} runs`,
      'lost',
      'duplicated',
    ],
    throughput.map((t) => [
      t.processes,
      fmt(t.wall, 2),
      fmt(t.eventsPerS, 0),
      t.all.map((v) => fmt(v, 0)).join(', '),
      t.lost,
      t.duplicated,
    ]),
  ),
);
console.log(
  `\nrebalance pause (longest stall of a partition with work waiting), ${pacedEvents} observations paced:\n`,
);
console.log(
  formatTable(
    ['event', 'pause s'],
    [
      ['none (steady state, 1 process)', fmt(steady, 1)],
      ['a 2nd process joins', fmt(joinPause, 1)],
      ['a 3rd process joins', fmt(join3Pause, 1)],
      ['one leaves (SIGTERM)', fmt(leavePause, 1)],
      ['one is SIGKILLed', fmt(killPause, 1)],
    ],
  ),
);
console.log(
  `lost ${pacedCheck.lost}, duplicated ${pacedCheck.duplicated} across the rebalances (logs: ${logDir})\n`,
);
const lost = throughput.reduce((s, t) => s + t.lost, pacedCheck.lost);
const duplicated = throughput.reduce((s, t) => s + t.duplicated, pacedCheck.duplicated);
console.log(
  summaryLine('scale', {
    events,
    partitions: PARTITIONS,
    procs1_events_per_s: throughput[0]?.eventsPerS,
    procs2_events_per_s: throughput[1]?.eventsPerS,
    procs3_events_per_s: throughput[2]?.eventsPerS,
    steady_stall_s: steady,
    join_pause_s: Math.max(joinPause, join3Pause),
    leave_pause_s: leavePause,
    kill_pause_s: killPause,
    lost,
    duplicated,
  }),
);
process.exit(0);
