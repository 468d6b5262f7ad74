/**
 * `rainstream replay`: the weatherAUS file (or another CSV with its header) into the observations topic of
 * the deployment the environment names, in event-time order.
 */
import { registerEvents } from '../../lib/domain/events.ts';
import { loadStationRegistry } from '../../lib/domain/stations.ts';
import { CsvHeaderError, fileRejection, readWeatherCsvFile } from '../../lib/domain/weather/csv.ts';
import { observationRules } from '../../lib/domain/weather/validation.ts';
import { createProgress } from '../../lib/platform/cli/progress.ts';
import { runCommand } from '../../lib/platform/cli/command.ts';
import { createClickHouse } from '../../lib/platform/clickhouse/client.ts';
import { loadConfig } from '../../lib/platform/config.ts';
import { createKafka } from '../../lib/platform/kafka/client.ts';
import { createProducer } from '../../lib/platform/kafka/producer.ts';
import { createLogger } from '../../lib/platform/log.ts';
import { createSchemaRegistry } from '../../lib/platform/schema-registry.ts';
import { routeProcessOutputToLog } from '../../lib/platform/process-log.ts';
import { describeError, isRetriable } from '../../lib/platform/errors.ts';
import { retryForever } from '../../lib/platform/retry.ts';
import { createReplayLog, type ReplayLog } from './checkpoint.ts';
import { championPoller, trainingGate } from './gate.ts';
import { lagProbe, restGroups } from '../../lib/deployment/consumer-groups.ts';
import { planReplay } from './plan.ts';
import { replay, replayOptionsSchema } from './replay.ts';

const USAGE = `
usage: rainstream replay [options]

Replays a weatherAUS-shaped CSV as observation events, one per station and day, sorted into event-time
order; invalid rows go to the DLQ with the reason; RainTomorrow is never sent.

  --file PATH           CSV or .csv.gz (default: DATA_FILE, the data set in data/)
  --from DATE           first day to send, YYYY-MM-DD
  --to DATE             last day to send
  --locations A,B       only these stations
  --limit N             at most N events
  --speed DAYS_PER_S    pace after the warm-up; 0 (default) = as fast as Kafka takes them
  --events-per-s N      pace as N events per second on average instead (whole days per send)
  --warmup-until DATE   full speed up to DATE, then wait for the first trained champion
  --max-lead-days N     never run more than N days ahead of the weekly retraining
  --resume              skip what an earlier run of this replay already put in the log (read back from
                        the last replay record of each partition): nothing is sent twice
  --quiet               no progress line

A broker that goes away is waited out: a send that failed is retried, and what of it did land is not sent
again. Started while the broker or the registry is away, the replay waits for them.

example: rainstream replay --from 2015-01-01 --locations Sydney,Perth --speed 10
`;

export async function main(argv: readonly string[]): Promise<void> {
  await runCommand({ name: 'replay', usage: USAGE, options: replayOptionsSchema }, argv, async (options) => {
    const config = loadConfig();
    const logger = createLogger(config, undefined, { service: 'replay' });
    routeProcessOutputToLog(logger);
    const file = options.file ?? config.dataFile;
    const kafka = createKafka(config, logger, { clientId: 'rainstream-replay' });
    const producer = createProducer(kafka);
    const clickhouse = createClickHouse(config.clickhouse);
    let replayLog: ReplayLog | undefined;
    // With a lead: the gate reads the labels once the stages up to the label join have read everything.
    const upToLabels = lagProbe(kafka, restGroups(config, 'labeler'));
    const waitFor = <T>(what: string, fn: () => Promise<T>) =>
      retryForever(fn, {
        shouldRetry: isRetriable,
        onRetry: ({ error, attempt }) => {
          if (attempt === 1 || attempt % 10 === 0)
            logger.warn({ err: error, attempt }, `waiting for ${what}`);
        },
      });
    try {
      const stations = loadStationRegistry(config.openMeteo.stationsFile);
      const rules = observationRules({ eventTime: config.eventTime, stations, now: Date.now() });
      // A file none of whose rows can be read is one rejected row, on the DLQ like any other: the replay
      // accounts for it and ends normally (a missing file or a read error still fails the command).
      const rows = await readWeatherCsvFile(file, { rules }).catch((error: unknown) => {
        if (!(error instanceof CsvHeaderError)) throw error;
        logger.error({ file, field: error.field, reason: error.message }, 'no row of the file can be read');
        return [fileRejection(error)];
      });
      const codec = await waitFor('the schema registry', () =>
        registerEvents(createSchemaRegistry(config), config.topics),
      );
      await waitFor('Kafka', () => producer.connect());
      replayLog = await waitFor('Kafka', () => createReplayLog(kafka, codec, config.topics.observations));
      const planned = planReplay(
        rows,
        { from: options.from, to: options.to, locations: options.locations, limit: options.limit },
        stations,
      );
      const summary = await replay(rows, file, options, {
        producer,
        codec,
        topics: config.topics,
        logger,
        replayLog,
        waitForTrainedChampion: championPoller(clickhouse),
        waitForTraining: options.maxLeadDays
          ? trainingGate(clickhouse, options.maxLeadDays, { pipelineIdle: upToLabels.idle })
          : undefined,
        progress: options.quiet ? undefined : createProgress('replay', planned.events),
        stations,
      });
      console.log(JSON.stringify(summary));
      return 0;
    } catch (error) {
      logger.error({ err: error, reason: describeError(error) }, 'replay failed');
      return 1;
    } finally {
      await replayLog?.close();
      await upToLabels.close().catch(() => undefined);
      await producer.disconnect().catch(() => undefined);
      await clickhouse.close();
    }
  });
}

if (import.meta.main) await main(process.argv.slice(2));
