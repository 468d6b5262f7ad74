/**
 * `rainstream ingest backfill | daily | remap`: live weather from Open-Meteo onto the observations topic
 * of the deployment the environment names. Every answer goes to the raw topic first; each (station, day)
 * lands on the observations topic once (ingestion.ts says how). Logs are JSON lines; each run ends with
 * one line of what it did and what it cost against the free tier.
 */
import { z } from 'zod';
import { registerEvents } from '../../lib/domain/events.ts';
import { isIsoDate } from '../../lib/domain/weather/csv.ts';
import { runCommand } from '../../lib/platform/cli/command.ts';
import { loadConfig, type Config } from '../../lib/platform/config.ts';
import { describeError, isRainstreamError } from '../../lib/platform/errors.ts';
import { ensureTopics } from '../../lib/platform/kafka/admin.ts';
import { createKafka, type Kafka } from '../../lib/platform/kafka/client.ts';
import { topicSpecs } from '../../lib/platform/kafka/topics.ts';
import { createLogger, type Logger } from '../../lib/platform/log.ts';
import { createMetrics, type Metrics } from '../../lib/platform/metrics.ts';
import { createSchemaRegistry } from '../../lib/platform/schema-registry.ts';
import type { EventCodec } from '../../lib/domain/events.ts';
import { runBackfill } from './backfill.ts';
import { SYSTEM_CLOCK } from './client.ts';
import { createOpenMeteoCounters } from './counters.ts';
import { runDaily } from './daily.ts';
import type { FetchDaysDeps } from './fetch-days.ts';
import { openIngestion, type Ingestion } from './ingestion.ts';
import { SlidingWindowLimiter } from './rate-limiter.ts';
import { runRemap } from './remap.ts';
import { loadLiveStations, selectStations, type LiveStation } from './stations.ts';

const isoDate = z.string().refine(isIsoDate, 'expected a calendar date YYYY-MM-DD');
const stationList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean),
  )
  .pipe(z.array(z.string()).min(1));
const flag = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')]);

const backfillOptions = z.strictObject({
  stations: stationList.optional(),
  from: isoDate,
  to: isoDate.optional(),
  refetch: flag.default(false),
  chunkDays: z.coerce.number().int().min(1).max(366).optional(),
});
const dailyOptions = z.strictObject({ stations: stationList.optional() });
const remapOptions = z.strictObject({
  stations: stationList.optional(),
  from: isoDate.optional(),
  to: isoDate.optional(),
});

const STATIONS_HELP = `  --stations A,B   live stations of OPEN_METEO_STATIONS_FILE (default: all of them)`;

const USAGE = `
usage: rainstream ingest backfill | daily | remap [options]

Live weather from Open-Meteo (OPEN_METEO_ARCHIVE_URL, OPEN_METEO_FORECAST_URL) for the stations of
OPEN_METEO_STATIONS_FILE, mapped onto observation events (source open-meteo). Every answer is kept on the
raw topic before it is mapped; each station and day lands on the observations topic once; rejected days
go to the DLQ with the reason. \`rainstream ingest <subcommand> --help\` prints its options.

  backfill   past days, from the archive (and the forecast API for the last 90 days)
  daily      long-running: each day at OPEN_METEO_DAILY_AT station time, yesterday (catching up first)
  remap      map the raw answers again with the current mapping, without calling the API

Weather data by Open-Meteo.com (CC BY 4.0).
`;

const BACKFILL_USAGE = `
usage: rainstream ingest backfill --from DATE [--to DATE] [--stations A,B] [--refetch] [--chunk-days N]

Fetches the days from..to (each station's calendar) not ingested yet and puts them on the observations
topic. Running it again asks the API only for the days still missing (rejected or failed before).

${STATIONS_HELP}
  --from DATE      first day, YYYY-MM-DD
  --to DATE        last day (default: each station's yesterday)
  --refetch        ask for ingested days too: same values are skipped, other values go to the DLQ
  --chunk-days N   days per archive call (default 31)

example: rainstream ingest backfill --stations Marrakech --from 2024-01-01 --to 2024-12-31
`;

const DAILY_USAGE = `
usage: rainstream ingest daily [--stations A,B]

Runs until SIGINT/SIGTERM. Each day at OPEN_METEO_DAILY_AT (default 06:00) in each station's own time
zone it fetches yesterday; at start it first catches up every day since the last one ingested. A run
that could not fetch everything is tried again 30 minutes later.

${STATIONS_HELP}
`;

const REMAP_USAGE = `
usage: rainstream ingest remap [--stations A,B] [--from DATE] [--to DATE]

Re-reads the raw topic and maps every answer again with the current mapping (after a mapping fix),
without calling the API: days not on the observations topic yet land, days there with the same values
are skipped, days the mapping now changes go to the DLQ as conflicts (a day is on the topic once).

${STATIONS_HELP}
  --from DATE      only days from DATE
  --to DATE        only days up to DATE
`;

interface Context {
  config: Config;
  logger: Logger;
  kafka: Kafka;
  codec: EventCodec;
  metrics: Metrics;
  stations: LiveStation[];
  ingestion: Ingestion;
  signal: AbortSignal;
}

/** Clients, topics, schemas and the stations' ingestion, around one subcommand; closes them after. */
async function withContext(
  command: string,
  stationNames: readonly string[] | undefined,
  body: (ctx: Context) => Promise<number>,
): Promise<number> {
  const config = loadConfig();
  const logger = createLogger(config, undefined, { command: `ingest ${command}` });
  const abort = new AbortController();
  const onSignal = (signal: string) => {
    logger.info({ signal }, 'stopping');
    abort.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const metrics = createMetrics();
  let ingestion: Ingestion | undefined;
  try {
    const all = await loadLiveStations(config.openMeteo.stationsFile);
    const stations = stationNames ? selectStations(all, stationNames) : all;
    const kafka = createKafka(config, logger, { clientId: `rainstream-ingest-${command}` });
    const t = config.topics;
    const mine = new Set([t.observations, t.observationsDlq, t.openMeteoRaw, t.openMeteoState]);
    await ensureTopics(
      kafka,
      topicSpecs(config).filter((s) => mine.has(s.topic)),
      logger,
    );
    const codec = await registerEvents(createSchemaRegistry(config), config.topics);
    ingestion = await openIngestion(
      stations.map((s) => s.name),
      { kafka, codec, topics: config.topics, logger, transactionalIdPrefix: config.groupPrefix },
    );
    return await body({ config, logger, kafka, codec, metrics, stations, ingestion, signal: abort.signal });
  } catch (error) {
    if (abort.signal.aborted) {
      logger.info('stopped before the end');
      return 130;
    }
    const code = isRainstreamError(error) ? error.code : 'INTERNAL';
    logger.error({ err: error, code, reason: describeError(error) }, `ingest ${command} failed`);
    return 1;
  } finally {
    await ingestion?.close();
    logger.info({ metrics: metrics.snapshot().counters }, 'metrics');
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function fetchDepsOf(ctx: Context, chunkDays?: number): FetchDaysDeps {
  return {
    archiveUrl: ctx.config.openMeteo.archiveUrl,
    forecastUrl: ctx.config.openMeteo.forecastUrl,
    timeoutMs: ctx.config.openMeteo.timeoutMs,
    limiter: new SlidingWindowLimiter(),
    counters: createOpenMeteoCounters(),
    clock: SYSTEM_CLOCK,
    logger: ctx.logger,
    signal: ctx.signal,
    ...(chunkDays === undefined ? {} : { chunkDays }),
  };
}

const SUBCOMMANDS: Readonly<Record<string, (argv: readonly string[]) => Promise<void>>> = {
  backfill: (argv) =>
    runCommand({ name: 'ingest backfill', usage: BACKFILL_USAGE, options: backfillOptions }, argv, (o) =>
      withContext('backfill', o.stations, async (ctx) => {
        const { reports } = await runBackfill(
          { stations: ctx.stations, from: o.from, to: o.to, refetch: o.refetch },
          {
            ingestion: ctx.ingestion,
            fetch: fetchDepsOf(ctx, o.chunkDays),
            logger: ctx.logger,
            metrics: ctx.metrics,
          },
        );
        return reports.some((r) => r.failures.length > 0) ? 1 : 0;
      }),
    ),
  daily: (argv) =>
    runCommand({ name: 'ingest daily', usage: DAILY_USAGE, options: dailyOptions }, argv, (o) =>
      withContext('daily', o.stations, async (ctx) => {
        await runDaily(ctx.stations, {
          ingestion: ctx.ingestion,
          fetch: fetchDepsOf(ctx),
          logger: ctx.logger,
          metrics: ctx.metrics,
          clock: SYSTEM_CLOCK,
          dailyAt: ctx.config.openMeteo.dailyAt,
          signal: ctx.signal,
        });
        return 0;
      }),
    ),
  remap: (argv) =>
    runCommand({ name: 'ingest remap', usage: REMAP_USAGE, options: remapOptions }, argv, (o) =>
      withContext('remap', o.stations, async (ctx) => {
        await runRemap(
          { stations: ctx.stations.map((s) => s.name), from: o.from, to: o.to },
          {
            kafka: ctx.kafka,
            codec: ctx.codec,
            topics: ctx.config.topics,
            ingestion: ctx.ingestion,
            logger: ctx.logger,
            metrics: ctx.metrics,
          },
        );
        return 0;
      }),
    ),
};

export async function main(argv: readonly string[]): Promise<void> {
  const [sub, ...rest] = argv;
  const run = sub === undefined ? undefined : SUBCOMMANDS[sub];
  if (run) {
    await run(rest);
    // kafkajs may leave timers behind after disconnecting; the work is done, so end here.
    process.exit(process.exitCode ?? 0);
  }
  const help = sub === '--help' || sub === '-h' || sub === 'help';
  if (!help)
    process.stderr.write(
      sub === undefined ? '' : `rainstream ingest: unknown subcommand ${JSON.stringify(sub)}\n\n`,
    );
  (help ? process.stdout : process.stderr).write(`${USAGE.trim()}\n`);
  process.exitCode = help ? 0 : 2;
}

if (import.meta.main) await main(process.argv.slice(2));
