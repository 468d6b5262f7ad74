/**
 * bench:drift — monitoring that means something (BENCH.md). A fixed champion is trained once on the early
 * years (the GBDT settings of the weekly trainer, with the drift reference the trainer builds), then a
 * slice of the real file is replayed through the real pipeline twice, on throw-away deployments: clean,
 * and with four injected faults (an 8 hPa offset on one station's pressure; one station's wind gust sensor
 * stuck on its last value; one station's humidity no longer reported; one station's temperatures 3 °C
 * high). Reported: the clean replay's incidents per 100 station-weeks; for each fault, whether an incident
 * opened at the right station and on a field the fault touched, and after how many event-time weeks; the
 * weekly accuracy estimated before labels against the realized one. The same streams also run through the
 * drift topology in memory (consumers/drift/topology.ts), to check the pipeline's incidents against it, and
 * a sweep injects each fault at every station in turn (in memory) to show how detection generalizes beyond
 * the four stations chosen. Anchor in the same run: the first drift stage's fixed PSI > 0.2 rule on the
 * same clean weeks, as the issue measured it (per feature per week, all features).
 *
 * Env: BENCH_DRIFT_BOUNDARY (champion's training boundary, a Monday; default 2015-01-05), BENCH_DRIFT_TO
 * (last replayed day; default 2016-12-31), BENCH_DRIFT_SWEEP=0 to skip the sweep, BENCH_KEEP=1.
 */
import { readWeatherCsvFile, type CsvRow } from '../lib/domain/weather/csv.ts';
import type { Observation } from '../lib/domain/weather/observation.ts';
import { addDays, mondayOf } from '../lib/domain/time.ts';
import { FEATURE_SET_VERSION, STATIONS } from '../lib/domain/features/feature-set.ts';
import { registerEvents } from '../lib/domain/events.ts';
import { createClickHouse, type ClickHouse } from '../lib/platform/clickhouse/client.ts';
import {
  incidents,
  weeklyPerformance,
  type IncidentRecord,
} from '../lib/platform/clickhouse/queries/drift.ts';
import { createKafka, Partitioners } from '../lib/platform/kafka/client.ts';
import { createProducer } from '../lib/platform/kafka/producer.ts';
import { createSchemaRegistry } from '../lib/platform/schema-registry.ts';
import { DEFAULT_DATA_FILE } from '../lib/platform/config.ts';
import { registerModels } from '../lib/models/registry.ts';
import { promote } from '../lib/models/promotion.ts';
import { waitForDrain } from '../lib/deployment/drain.ts';
import { removeDeployment } from '../lib/deployment/teardown.ts';
import { planReplay } from '../producers/replay/plan.ts';
import { replay } from '../producers/replay/replay.ts';
import { startPipelineThreads, TWO_THREADS } from '../consumers/host/threads.ts';
import { DriftTopology } from '../consumers/drift/topology.ts';
import { INSTRUMENTS } from '../consumers/drift/reference.ts';
import type { WeekOutput } from '../consumers/drift/step.ts';
import { calibrated, expectedOutcome, psi } from '../lib/ml/reference.ts';
import { benchDeployment } from './lib/deployment.ts';
import { fmt, formatTable, peakRssMb, progress, summaryLine } from './lib/report.ts';
import {
  detectionWeeks,
  faults,
  injectFaults,
  servedStream,
  trainFixedChampion,
  type Fault,
  type FixedChampion,
} from './lib/drift-scenario.ts';

const BOUNDARY = process.env.BENCH_DRIFT_BOUNDARY ?? '2015-01-05';
const TO = process.env.BENCH_DRIFT_TO ?? '2016-12-31';
const SWEEP = process.env.BENCH_DRIFT_SWEEP !== '0';
const KEEP = process.env.BENCH_KEEP === '1';
/** Four weeks of warm-up before the champion's boundary: station windows fill, two-week windows start. */
const FROM = addDays(BOUNDARY, -28);
/** Incidents and station-weeks are counted from the boundary on. */
const COUNT_FROM = BOUNDARY;
/** The last week both sides of the drift stage can close: its Sunday + 2 grace days within the replay. */
const LAST_CLOSED = mondayOf(addDays(TO, -8));
const PARTITIONS = 6;
const started = performance.now();

const FAULT_PLAN = {
  pressure: { station: 'Albury', from: addDays(BOUNDARY, 35 * 7) },
  stuck: { station: 'Brisbane', from: addDays(BOUNDARY, 43 * 7) },
  humidity: { station: 'Cobar', from: addDays(BOUNDARY, 52 * 7) },
  temperature: { station: 'Perth', from: addDays(BOUNDARY, 61 * 7) },
};

interface RunResult {
  incidents: IncidentRecord[];
  stationWeeks: number;
  performance: Awaited<ReturnType<typeof weeklyPerformance>>;
  events: number;
  replayS: number;
  /** Seconds from the last prediction in ClickHouse to the last drift week closed on both sides. */
  driftLagS: number;
}

const rows = await readWeatherCsvFile(DEFAULT_DATA_FILE);
const observations = planReplay(rows).days.flatMap((d) => d.observations);
progress(`training the fixed champion on labeled days before ${BOUNDARY}`);
const champion = trainFixedChampion(observations, BOUNDARY);
progress(
  `champion ${champion.version}: ${champion.trainRows} rows, ${fmt(champion.trainSeconds, 1)} s; watching ${champion.reference.columns.length} columns`,
);
const FAULTS = faults(FAULT_PLAN);

/** The file's rows with each observation replaced by its faulted copy. */
function rowsWith(faulted: readonly Observation[]): CsvRow[] {
  const byKey = new Map(faulted.map((o) => [`${o.location}|${o.date}`, o]));
  return rows.map((r) =>
    r.ok
      ? { ...r, observation: byKey.get(`${r.observation.location}|${r.observation.date}`) ?? r.observation }
      : r,
  );
}

async function pipelineRun(name: string, runRows: readonly CsvRow[]): Promise<RunResult> {
  const { config, logger } = await benchDeployment(`drift_${name}`, {
    RETRAIN_ENABLED: 'false',
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'error',
  });
  const clickhouse = createClickHouse(config.clickhouse);
  try {
    const codec = await registerEvents(createSchemaRegistry(config), config.topics);
    const producer = createProducer(createKafka(config, logger, { clientId: 'bench-drift' }));
    await producer.connect();
    await registerChampion(clickhouse, champion);
    await promote(
      { clickhouse, producer, codec, topics: config.topics },
      {
        alias: 'champion',
        version: champion.version,
        family: 'gbdt',
        previousVersion: null,
        reason: 'bench:drift',
      },
    );
    const pipeline = await startPipelineThreads(config, TWO_THREADS);
    progress(`${name}: replaying ${FROM} .. ${TO} as fast as possible`);
    const t0 = performance.now();
    const summary = await replay(
      runRows,
      DEFAULT_DATA_FILE,
      { speed: 0, quiet: true, from: FROM, to: TO },
      { producer, codec, topics: config.topics, logger },
    );
    await producer.disconnect();
    await waitForDrain(clickhouse, { predictions: summary.events, stallMs: 120_000 });
    const drained = performance.now();
    const replayS = (drained - t0) / 1000;
    progress(
      `${name}: ${summary.events} events in ${fmt(replayS, 1)} s; waiting for week ${LAST_CLOSED} to close`,
    );
    for (;;) {
      const [row] = await clickhouse.rows<{ n: string }>(
        `SELECT count() AS n FROM drift_performance WHERE task = 'rain' AND station = '*' AND week = '${LAST_CLOSED}'`,
      );
      if (Number(row!.n) >= 2) break;
      if (performance.now() - drained > 180_000) throw new Error(`week ${LAST_CLOSED} never closed`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const driftLagS = (performance.now() - drained) / 1000;
    await pipeline.stop();
    const [sw] = await clickhouse.rows<{ n: string }>(
      `SELECT uniqExact(station, week) AS n FROM drift_performance FINAL
       WHERE task = 'rain' AND station != '*' AND basis = 'estimated' AND week >= toDate('${COUNT_FROM}')`,
    );
    return {
      incidents: (await incidents(clickhouse)).filter((i) => i.openedWeek >= COUNT_FROM),
      stationWeeks: Number(sw!.n),
      performance: (await weeklyPerformance(clickhouse)).filter((w) => w.week >= COUNT_FROM),
      events: summary.events,
      replayS,
      driftLagS,
    };
  } finally {
    await clickhouse.close();
    if (!KEEP) await removeDeployment(config, logger);
  }
}

async function registerChampion(clickhouse: ClickHouse, c: FixedChampion): Promise<void> {
  await registerModels(clickhouse, [
    {
      version: c.version,
      family: 'gbdt',
      task: 'classification',
      params: { maxIterations: 200, learningRate: 0.12 },
      metrics: { accuracy: c.reference.performance!.accuracy, brier: c.reference.performance!.brier },
      featureSetVersion: FEATURE_SET_VERSION,
      trainStart: c.trainStart,
      trainEnd: c.trainEnd,
      rows: c.trainRows,
      positives: c.positives,
      codeVersion: 'bench:drift',
      bundle: { model: c.model.toJSON(), clip: c.clip },
      reference: c.reference,
      status: 'candidate',
      trainedAt: Date.now(),
      trainSeconds: c.trainSeconds,
      peakRssMb: peakRssMb(),
    },
  ]);
}

/** The partition the pipeline's producer puts a station on (murmur2, as the Java client). */
const partitioner = Partitioners.DefaultPartitioner();
const partitionMetadata = Array.from({ length: PARTITIONS }, (_, p) => ({
  partitionId: p,
  leader: 1,
  replicas: [1],
  isr: [1],
  offlineReplicas: [],
  partitionErrorCode: 0,
}));
const partitionOf = new Map(
  STATIONS.map((s) => [
    s,
    partitioner({ topic: 'drift', partitionMetadata, message: { key: s, value: null } }),
  ]),
);

/** The drift topology in memory over what the pipeline would serve from these observations. */
function inMemory(obs: readonly Observation[]): WeekOutput[] {
  const slice = obs.filter((o) => o.date >= FROM && o.date <= TO);
  const { predictions, labeled } = servedStream(slice, champion);
  const topology = new DriftTopology(
    (v) => (v === champion.version ? champion.reference : undefined),
    undefined,
    PARTITIONS,
  );
  const outputs: WeekOutput[] = [];
  const byDate = new Map<string, { p: typeof predictions; l: typeof labeled }>();
  const at = (d: string) => byDate.get(d) ?? byDate.set(d, { p: [], l: [] }).get(d)!;
  for (const p of predictions) at(p.date).p.push(p);
  for (const l of labeled) at(addDays(l.date, 1)).l.push(l);
  for (const date of [...byDate.keys()].sort()) {
    const { p, l } = byDate.get(date)!;
    for (let k = 0; k < PARTITIONS; k++) {
      outputs.push(
        ...topology.pipe(
          'predictions',
          k,
          p.filter((x) => partitionOf.get(x.location) === k),
        ),
      );
      outputs.push(
        ...topology.pipe(
          'labeled',
          k,
          l.filter((x) => partitionOf.get(x.location) === k),
        ),
      );
    }
  }
  return outputs;
}

function openedOf(outputs: readonly WeekOutput[]) {
  return outputs.flatMap((o) =>
    o.alerts
      .filter((a) => a.event === 'opened' && a.week >= COUNT_FROM)
      .map((a) => ({ kind: a.kind, station: a.station, feature: a.name, openedWeek: a.week })),
  );
}

interface Detection {
  fault: Fault;
  incident: { kind: string; feature: string; openedWeek: string } | undefined;
  weeks: number | null;
}

function detect(
  list: readonly { kind: string; station: string; feature: string; openedWeek: string }[],
  f: Fault,
): Detection {
  const fields = f.fields as readonly string[];
  // The field itself, or the instrument it is a reading of.
  const matches = (feature: string) =>
    fields.includes(feature) || (INSTRUMENTS[feature]?.some((x) => fields.includes(x)) ?? false);
  const hit = list
    .filter((i) => i.station === f.station && matches(i.feature))
    .filter((i) => i.openedWeek >= mondayOf(f.from))
    .sort((a, b) => (a.openedWeek < b.openedWeek ? -1 : 1))[0];
  return { fault: f, incident: hit, weeks: hit ? detectionWeeks(f.from, hit.openedWeek) : null };
}

const ids = (list: readonly { kind: string; station: string; feature: string; openedWeek: string }[]) =>
  list.map((i) => `${i.kind}:${i.station}:${i.feature}@${i.openedWeek}`).sort();

// ---- the pipeline, clean and faulted ----------------------------------------------------------------
const faulted = injectFaults(observations, FAULTS);
const clean = await pipelineRun('clean', rows);
const withFaults = await pipelineRun('faults', rowsWith(faulted));

// ---- the same streams in memory -------------------------------------------------------------------
progress('the same streams through the drift topology in memory');
const memoryClean = openedOf(inMemory(observations));
const memoryFaults = openedOf(inMemory(faulted));
const agreeClean = JSON.stringify(ids(memoryClean)) === JSON.stringify(ids(clean.incidents));
const agreeFaults = JSON.stringify(ids(memoryFaults)) === JSON.stringify(ids(withFaults.incidents));

// ---- anchor: the first drift stage's rule, PSI > 0.2 per feature per week --------------------------
const anchor = anchorAlerts(observations);

// ---- sweep: each fault at every station in turn -------------------------------------------------
const sweep: { name: string; tested: number; detected: number; maxWeeks: number }[] = [];
if (SWEEP) {
  progress('sweep: each fault at every station, seven stations at a time, in memory');
  const kinds = ['pressure', 'stuck', 'humidity', 'temperature'] as const;
  for (const [k, kind] of kinds.entries()) {
    const entry = { name: FAULTS[k]!.name, tested: 0, detected: 0, maxWeeks: 0 };
    for (let offset = 0; offset < 7; offset++) {
      const stations = STATIONS.filter((_, i) => i % 7 === offset);
      const list = stations.map(
        (station) => faults({ ...FAULT_PLAN, [kind]: { ...FAULT_PLAN[kind], station } })[k]!,
      );
      const opened = openedOf(inMemory(injectFaults(observations, list)));
      for (const f of list) {
        // A station whose reference does not judge the faulted fields cannot detect it: not tested.
        if (!judges(f)) continue;
        entry.tested++;
        const d = detect(opened, f);
        if (d.weeks !== null && d.weeks <= 2) {
          entry.detected++;
          entry.maxWeeks = Math.max(entry.maxWeeks, d.weeks);
        }
      }
    }
    sweep.push(entry);
  }
}

/** Whether the champion's reference watches one of the fault's fields at its station. */
function judges(f: Fault): boolean {
  const g = champion.reference.groups.indexOf(f.station);
  return champion.reference.columns.some(
    (c) =>
      c.perGroup &&
      (f.fields as readonly string[]).includes(c.name) &&
      c.groups[g] !== null &&
      c.groups[g] !== undefined &&
      (c.groups[g]!.residualSd !== null || c.groups[g]!.missingThreshold !== null),
  );
}

function anchorAlerts(obs: readonly Observation[]): { checks: number; alerts: number } {
  // Deciles of each feature over the training rows, all stations pooled and all year, as the first stage
  // did, and weekly PSI on the clean slice: the alarm rate the issue measured (49 % of checks).
  const slice = servedStream(
    obs.filter((o) => o.date >= FROM && o.date <= TO),
    champion,
  ).predictions.filter((p) => p.date >= COUNT_FROM);
  const train = servedStream(
    obs.filter((o) => o.date < addDays(BOUNDARY, -56)),
    champion,
  ).predictions;
  let checks = 0;
  let alerts = 0;
  const names = champion.reference.featureNames;
  for (let c = 0; c < names.length; c++) {
    if (/^(month|monthSin|monthCos|dayOfYearSin|dayOfYearCos)$/.test(names[c]!)) continue;
    const values = train
      .map((p) => p.values[c]!)
      .filter((v) => v === v)
      .sort((a, b) => a - b);
    if (values.length === 0) continue;
    const edges = [
      ...new Set([1, 2, 3, 4, 5, 6, 7, 8, 9].map((q) => values[Math.floor((q / 10) * (values.length - 1))]!)),
    ];
    const bin = (x: number) => (x !== x ? edges.length + 1 : edges.filter((e) => x > e).length);
    const expected = new Array<number>(edges.length + 2).fill(0);
    for (const p of train) expected[bin(p.values[c]!)]! += 1 / train.length;
    const weeks = new Map<string, number[]>();
    for (const p of slice) {
      const w = mondayOf(p.date);
      const counts = weeks.get(w) ?? weeks.set(w, new Array<number>(edges.length + 2).fill(0)).get(w)!;
      counts[bin(p.values[c]!)]!++;
    }
    for (const counts of weeks.values()) {
      checks++;
      if (psi(expected, counts) > 0.2) alerts++;
    }
  }
  return { checks, alerts };
}

// ---- how close a weekly estimate can come ------------------------------------------------------------
/** erf, Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7). */
function erf(x: number): number {
  const t = 1 / (1 + 0.3275911 * Math.abs(x));
  const y =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) *
      t *
      Math.exp(-x * x);
  return x >= 0 ? y : -y;
}

/**
 * The weekly estimate's error (estimated minus realized accuracy), split in two on the clean weeks' labeled
 * rows: the sampling part (each day's outcome a coin with the calibrated probability: what CBPE assumes)
 * and a week-level part shared by every station (weather systems span stations: a week wetter than the
 * probabilities said is wrong everywhere at once). The shared part is the covariance of the errors of two
 * random halves of the stations, over weeks. Both together bound the share of weeks within 0.03 that any
 * estimate from the probabilities alone can expect, if the error is normal.
 */
function estimateErrorParts(obs: readonly Observation[]) {
  const slice = obs.filter((o) => o.date >= FROM && o.date <= TO);
  const { labeled } = servedStream(slice, champion);
  const ref = champion.reference;
  // The bench's champion is rain's classifier: its reference has the performance a CBPE needs.
  const performance = ref.performance!;
  const t = performance.threshold;
  const byWeek = new Map<string, { station: string; q: number; right: number }[]>();
  for (const l of labeled) {
    if (l.date < COUNT_FROM || l.date > TO) continue;
    const c = calibrated(performance.calibration, l.probability, ref.options.calibrationPrior);
    const week = mondayOf(l.date);
    let rows = byWeek.get(week);
    if (!rows) byWeek.set(week, (rows = []));
    rows.push({
      station: l.location,
      q: expectedOutcome(l.probability, c, t).correct,
      right: l.probability >= t === l.label ? 1 : 0,
    });
  }
  const weeks = [...byWeek.values()].filter((r) => r.length >= 50);
  const error = (rows: readonly { q: number; right: number }[]) =>
    rows.reduce((s, r) => s + r.q - r.right, 0) / rows.length;
  let sampling = 0;
  for (const rows of weeks) sampling += rows.reduce((s, r) => s + r.q * (1 - r.q), 0) / rows.length ** 2;
  sampling /= weeks.length;
  // Seeded halves (mulberry32), averaged over splits.
  let seed = 7;
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const stations = [...new Set(weeks.flat().map((r) => r.station))];
  let shared = 0;
  const SPLITS = 20;
  for (let k = 0; k < SPLITS; k++) {
    const half = new Set(stations.filter(() => random() < 0.5));
    const a: number[] = [];
    const b: number[] = [];
    for (const rows of weeks) {
      const ra = rows.filter((r) => half.has(r.station));
      const rb = rows.filter((r) => !half.has(r.station));
      if (ra.length === 0 || rb.length === 0) continue;
      a.push(error(ra));
      b.push(error(rb));
    }
    const ma = a.reduce((s, x) => s + x, 0) / a.length;
    const mb = b.reduce((s, x) => s + x, 0) / b.length;
    shared += a.reduce((s, x, i) => s + (x - ma) * (b[i]! - mb), 0) / (a.length - 1);
  }
  shared = Math.max(0, shared / SPLITS);
  const sd = Math.sqrt(shared + sampling);
  return {
    sharedSd: Math.sqrt(shared),
    samplingSd: Math.sqrt(sampling),
    bound: erf(0.03 / (sd * Math.SQRT2)),
  };
}
const errorParts = estimateErrorParts(observations);

// ---- report ---------------------------------------------------------------------------------------
const perKind = (list: readonly { kind: string; station: string }[]) => {
  const out: Record<string, number> = {};
  for (const i of list) {
    const k = `${i.kind}${i.station === '*' ? ' (pooled)' : ''}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return Object.entries(out)
    .sort()
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
};
const per100 = (100 * clean.incidents.length) / clean.stationWeeks;
const detections = FAULTS.map((f) => detect(withFaults.incidents, f));
const detected = detections.filter((d) => d.weeks !== null && d.weeks <= 2);
const extra = ids(withFaults.incidents).filter(
  (id) => !ids(clean.incidents).includes(id) && !FAULTS.some((f) => id.includes(`:${f.station}:`)),
);
const weeksBoth = clean.performance.filter(
  (w) => w.estimatedAccuracy !== null && w.realizedAccuracy !== null,
);
const errors = weeksBoth.map((w) => w.estimatedAccuracy! - w.realizedAccuracy!);
const within = errors.filter((e) => Math.abs(e) <= 0.03).length;
const share = weeksBoth.length > 0 ? within / weeksBoth.length : NaN;

console.log(
  `\nbench:drift — ${FROM} .. ${TO} replayed through the pipeline twice (counted from ${COUNT_FROM}); champion ${champion.version}\n`,
);
console.log(
  formatTable(
    [
      'run',
      'events',
      'station-weeks',
      'incidents',
      'per 100 station-weeks',
      'by kind',
      'replay s',
      'drift lag s',
    ],
    [
      [
        'clean',
        clean.events,
        clean.stationWeeks,
        clean.incidents.length,
        fmt(per100, 2),
        perKind(clean.incidents),
        fmt(clean.replayS, 1),
        fmt(clean.driftLagS, 1),
      ],
      [
        'faults',
        withFaults.events,
        withFaults.stationWeeks,
        withFaults.incidents.length,
        fmt((100 * withFaults.incidents.length) / withFaults.stationWeeks, 2),
        perKind(withFaults.incidents),
        fmt(withFaults.replayS, 1),
        fmt(withFaults.driftLagS, 1),
      ],
    ],
  ),
);
console.log(
  `\ninjected faults (detected = an incident at the station on a field the fault touched, within 2 event-time weeks)`,
);
console.log(
  formatTable(
    ['fault', 'station', 'from', 'detected', 'incident', 'weeks'],
    detections.map((d) => [
      d.fault.name,
      d.fault.station,
      d.fault.from,
      d.weeks !== null && d.weeks <= 2 ? 'yes' : 'no',
      d.incident ? `${d.incident.kind} ${d.incident.feature} from ${d.incident.openedWeek}` : '-',
      d.weeks,
    ]),
  ),
);
console.log(
  `incidents of the faulted run elsewhere than at the faulted stations and not in the clean run: ${extra.length ? extra.join(' ') : 'none'}`,
);
const differences = (memory: string[], pipeline: string[]) => [
  ...memory.filter((x) => !pipeline.includes(x)).map((x) => `memory only ${x}`),
  ...pipeline.filter((x) => !memory.includes(x)).map((x) => `pipeline only ${x}`),
];
console.log(
  `\npipeline incidents equal the in-memory topology's: clean ${agreeClean ? 'yes' : 'no'}, faults ${agreeFaults ? 'yes' : 'no'}`,
);
for (const d of [
  ...differences(ids(memoryClean), ids(clean.incidents)),
  ...differences(ids(memoryFaults), ids(withFaults.incidents)),
]) {
  console.log(`  ${d}`);
}
if (SWEEP) {
  console.log(`\nsweep: each fault at every station whose reference watches the field (in memory)`);
  console.log(
    formatTable(
      ['fault', 'stations tested', 'detected within 2 weeks', 'share', 'slowest'],
      sweep.map((s) => [s.name, s.tested, s.detected, fmt(s.detected / s.tested, 3), s.maxWeeks]),
    ),
  );
}
console.log(`\nperformance before labels (pooled weekly accuracy, confidence-based estimate vs realized)`);
const meanAbs = errors.reduce((s, e) => s + Math.abs(e), 0) / errors.length;
const bias = errors.reduce((s, e) => s + e, 0) / errors.length;
console.log(
  formatTable(
    ['weeks', 'within 0.03', 'share', 'mean |error|', 'mean error (est - real)'],
    [[weeksBoth.length, within, fmt(share, 3), fmt(meanAbs, 4), fmt(bias, 4)]],
  ),
);
console.log(
  `the error's parts: sampling sd ${fmt(errorParts.samplingSd, 4)} (what CBPE assumes), week-level sd shared ` +
    `by the stations ${fmt(errorParts.sharedSd, 4)} (from random halves of the stations); together they let ` +
    `an estimate from the probabilities expect ${fmt(errorParts.bound, 3)} of weeks within 0.03`,
);
console.log(
  `\nanchor: the first drift stage's rule (PSI > 0.2 per feature per pooled week, all-year deciles) on the same clean weeks: ${anchor.alerts} of ${anchor.checks} checks alerted (${fmt((100 * anchor.alerts) / anchor.checks, 1)} %)`,
);
const wallS = (performance.now() - started) / 1000;
console.log(`wall ${fmt(wallS, 1)} s`);
console.log(
  summaryLine('drift', {
    station_weeks: clean.stationWeeks,
    clean_incidents: clean.incidents.length,
    clean_incidents_per_100: per100,
    injected: FAULTS.length,
    detected: detected.length,
    max_detection_weeks:
      detected.length === FAULTS.length ? Math.max(...detected.map((d) => d.weeks!)) : undefined,
    estimate_within_003_share: share,
    estimate_mean_abs_error: meanAbs,
    estimate_sampling_sd: errorParts.samplingSd,
    estimate_week_shared_sd: errorParts.sharedSd,
    estimate_within_003_bound: errorParts.bound,
    faulted_extra_incidents: extra.length,
    sweep_detected_share: SWEEP
      ? sweep.reduce((s, e) => s + e.detected, 0) / sweep.reduce((s, e) => s + e.tested, 0)
      : undefined,
    anchor_alert_share: anchor.alerts / anchor.checks,
    drift_lag_s: clean.driftLagS,
    replay_s: clean.replayS,
    wall_s: wallS,
  }),
);
