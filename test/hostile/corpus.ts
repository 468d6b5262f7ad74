/**
 * The hostile-input corpus: what a careless or hostile client can send rainstream at each of its edges
 * (CSV rows to the replay, HTTP requests to the API, raw records on its Kafka topics), each with the one
 * outcome that is right for it. It is data only; test/hostile/harness.ts sends it to a real deployment
 * and checks every outcome from the outside.
 *
 * The deployment is warmed up first with real rows (WARM_UP), so stream cases meet stations with state:
 * a far-future day after real ones, a second version of a day already processed, a late day.
 */
import type { EventCodec } from '../../lib/domain/events.ts';
import type { FeatureVector, Observation, Prediction } from '../../lib/domain/events.ts';
import { FEATURE_NAMES, FEATURE_SET_VERSION } from '../../lib/domain/features/feature-set.ts';
import { addDays, utcDateOf } from '../../lib/domain/time.ts';

/** Real rows replayed before the corpus: these stations, these days. */
export const WARM_UP = {
  locations: ['Albury', 'Brisbane', 'Cobar', 'Darwin', 'Hobart', 'Melbourne', 'Perth', 'Sydney'],
  from: '2017-04-01',
  to: '2017-06-18',
} as const;

export type Expectation =
  /** Sent to the DLQ naming `field` (the CSV column for replay rejections), with a reason and the source. */
  | { outcome: 'dlq'; field: string; kind?: string; stage?: string }
  /** Accepted as it is: a prediction for (location, date), the event on the topic equal to the input. */
  | { outcome: 'accepted'; location: string; date: string }
  /** A repeat of what was accepted already: a silent no-op, neither DLQ nor a second event. */
  | { outcome: 'duplicate'; location: string; date: string }
  /** An HTTP answer with this status; for a 400, the body names `field`. */
  | { outcome: 'http'; status: number; field?: string };

interface CaseBase {
  id: string;
  title: string;
  expect: Expectation;
  /**
   * Whose work the expected outcome waits for, when it is not in place yet (such cases run only when
   * asked: `check:hostile --include-pending`).
   */
  pendingOn?: string;
}

export interface CsvCase extends CaseBase {
  kind: 'csv';
  /** The record as written, without its final line break (it may hold line breaks of its own). */
  text: string | Buffer;
  eol?: '\n' | '\r\n';
}

export type HostileTopic = 'observations' | 'features' | 'predictions' | 'labeled';

export interface KafkaCase extends CaseBase {
  kind: 'kafka';
  topic: HostileTopic;
  key: string | null;
  value: (codec: EventCodec) => Buffer | null;
}

export interface HttpCase extends CaseBase {
  kind: 'http';
  method: 'GET' | 'POST';
  path: string;
  /** A JSON value (sent as JSON) or raw text (sent as is). */
  body?: unknown;
  rawBody?: string | Buffer;
  contentType?: string;
}

export type HostileCase = CsvCase | KafkaCase | HttpCase;

export interface CorpusInput {
  /** Also the cases whose expected outcome waits for another engineer's work (see `pendingOn`). */
  includePending?: boolean;
  /** The real CSV line of (location, date), as in the data set. */
  realLine(location: string, date: string): string;
  /** The header line of the data set. */
  header: string;
  /** The clock of the run: what "today" and the horizon are. */
  now: number;
}

const COLUMNS = [
  'Date',
  'Location',
  'MinTemp',
  'MaxTemp',
  'Rainfall',
  'Evaporation',
  'Sunshine',
  'WindGustDir',
  'WindGustSpeed',
  'WindDir9am',
  'WindDir3pm',
  'WindSpeed9am',
  'WindSpeed3pm',
  'Humidity9am',
  'Humidity3pm',
  'Pressure9am',
  'Pressure3pm',
  'Cloud9am',
  'Cloud3pm',
  'Temp9am',
  'Temp3pm',
  'RainToday',
  'RainTomorrow',
];

/** A plausible observation of (location, date), every reading given. */
export function observationOf(
  location: string,
  date: string,
  fields: Partial<Observation> = {},
): Observation {
  return {
    location,
    date,
    minTemp: 11.2,
    maxTemp: 21.5,
    rainfall: 0.4,
    evaporation: 3.2,
    sunshine: 7.1,
    windGustDir: 'W',
    windGustSpeed: 41,
    windDir9am: 'WNW',
    windDir3pm: 'W',
    windSpeed9am: 13,
    windSpeed3pm: 20,
    humidity9am: 71,
    humidity3pm: 48,
    pressure9am: 1017.2,
    pressure3pm: 1015.1,
    cloud9am: 5,
    cloud3pm: 3,
    temp9am: 14.9,
    temp3pm: 20.3,
    rainToday: false,
    source: 'hostile',
    ...fields,
  };
}

function featureVector(location: string, date: string, fields: Partial<FeatureVector> = {}): FeatureVector {
  return {
    location,
    date,
    featureSetVersion: FEATURE_SET_VERSION,
    values: FEATURE_NAMES.map(() => 0.5),
    rainToday: false,
    rainfall: 0,
    ingestedAt: 0,
    ...fields,
  };
}

function prediction(location: string, date: string, fields: Partial<Prediction> = {}): Prediction {
  return {
    location,
    date,
    probability: 0.3,
    decision: false,
    threshold: 0.5,
    modelVersion: 'hostile',
    featureSetVersion: FEATURE_SET_VERSION,
    values: FEATURE_NAMES.map(() => 0.5),
    rainToday: false,
    rainfall: 0,
    ingestedAt: 0,
    predictedAt: 0,
    task: 'rain',
    value: null,
    ...fields,
  };
}

/** A real line with one cell replaced. */
function withCell(line: string, column: string, value: string): string {
  const cells = line.split(',');
  cells[COLUMNS.indexOf(column)] = value;
  return cells.join(',');
}

const junk = (n: number, seed: number): Buffer => {
  const out = Buffer.alloc(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    // No line breaks: the junk is one record.
    out[i] = (x >>> 16) % 256 === 10 ? 0x20 : (x >>> 16) % 256;
  }
  return out;
};

const dlq = (field: string, more: { kind?: string; stage?: string } = {}): Expectation => ({
  outcome: 'dlq',
  field,
  ...more,
});
const http = (status: number, field?: string): Expectation => ({ outcome: 'http', status, field });

export function hostileCorpus({ realLine, header, now, includePending = false }: CorpusInput): HostileCase[] {
  const today = utcDateOf(now);
  const pastHorizon = addDays(today, 5);
  // Days after the warm-up: new for the stream, real in the data set.
  const d1 = '2017-06-19';
  const d2 = '2017-06-20';
  const d3 = '2017-06-21';
  const csv = (
    id: string,
    title: string,
    text: string | Buffer,
    expect: Expectation,
    eol?: '\r\n',
  ): CsvCase => ({
    id,
    title,
    kind: 'csv',
    text,
    expect,
    ...(eol ? { eol } : {}),
  });
  const sydney = realLine('Sydney', d1);
  const perth = realLine('Perth', d1);
  const darwin = realLine('Darwin', d1);
  const cases: HostileCase[] = [
    // ---- CSV rows to the replay ----
    csv(
      'csv-9999-12-31',
      'date 9999-12-31 (crash loop in the landed code)',
      withCell(darwin, 'Date', '9999-12-31'),
      dlq('Date'),
    ),
    csv(
      'csv-9999-12-30',
      'date 9999-12-30 (stored as 0000-00-00)',
      withCell(darwin, 'Date', '9999-12-30'),
      dlq('Date'),
    ),
    csv(
      'csv-1900-01-01',
      'date 1900-01-01 (stored as 0000-00-00)',
      withCell(darwin, 'Date', '1900-01-01'),
      dlq('Date'),
    ),
    csv(
      'csv-1900-01-02',
      'date 1900-01-02 (collapsed with 1900-01-01)',
      withCell(darwin, 'Date', '1900-01-02'),
      dlq('Date'),
    ),
    csv(
      'csv-1970-01-01',
      'date 1970-01-01, day 0 of ClickHouse',
      withCell(darwin, 'Date', '1970-01-01'),
      dlq('Date'),
    ),
    csv(
      'csv-2099',
      'Darwin 2099-01-01 (poisoned the station)',
      withCell(darwin, 'Date', '2099-01-01'),
      dlq('Date'),
    ),
    csv(
      'csv-horizon',
      `${pastHorizon}: 5 days after today`,
      withCell(darwin, 'Date', pastHorizon),
      dlq('Date'),
    ),
    csv('csv-feb-30', 'date 2017-02-30', withCell(darwin, 'Date', '2017-02-30'), dlq('Date')),
    csv('csv-date-short', 'date 2017-6-19', withCell(darwin, 'Date', '2017-6-19'), dlq('Date')),
    csv('csv-date-compact', 'date 20170619', withCell(darwin, 'Date', '20170619'), dlq('Date')),
    csv('csv-date-space', 'date with a leading space', withCell(darwin, 'Date', ` ${d1}`), dlq('Date')),
    csv('csv-header-again', 'the header line again mid-file', header, dlq('Date')),
    csv(
      'csv-max-below-min',
      'MaxTemp < MinTemp',
      withCell(withCell(sydney, 'MaxTemp', '5.1'), 'MinTemp', '12.3'),
      dlq('MaxTemp'),
    ),
    csv(
      'csv-no-with-80mm',
      'RainToday=No with Rainfall=80',
      withCell(withCell(sydney, 'Rainfall', '80'), 'RainToday', 'No'),
      dlq('RainToday'),
    ),
    csv(
      'csv-yes-with-0mm',
      'RainToday=Yes with Rainfall=0',
      withCell(withCell(sydney, 'Rainfall', '0'), 'RainToday', 'Yes'),
      dlq('RainToday'),
    ),
    csv('csv-yes-lower', 'RainToday=yes', withCell(sydney, 'RainToday', 'yes'), dlq('RainToday')),
    csv('csv-hex', 'Humidity3pm 0x32', withCell(sydney, 'Humidity3pm', '0x32'), dlq('Humidity3pm')),
    csv('csv-exponent', 'Pressure9am 1e3', withCell(sydney, 'Pressure9am', '1e3'), dlq('Pressure9am')),
    csv('csv-plus', 'MinTemp +5', withCell(sydney, 'MinTemp', '+5'), dlq('MinTemp')),
    csv('csv-padded', 'Humidity9am " 50"', withCell(sydney, 'Humidity9am', ' 50'), dlq('Humidity9am')),
    csv('csv-nan', 'Temp3pm NaN', withCell(sydney, 'Temp3pm', 'NaN'), dlq('Temp3pm')),
    csv('csv-infinity', 'Temp9am Infinity', withCell(sydney, 'Temp9am', 'Infinity'), dlq('Temp9am')),
    csv('csv-oktas-half', 'Cloud9am 4.5 oktas', withCell(sydney, 'Cloud9am', '4.5'), dlq('Cloud9am')),
    csv('csv-oktas-10', 'Cloud3pm 10 oktas', withCell(sydney, 'Cloud3pm', '10'), dlq('Cloud3pm')),
    csv('csv-humidity-150', 'Humidity3pm 150', withCell(sydney, 'Humidity3pm', '150'), dlq('Humidity3pm')),
    csv('csv-rain-negative', 'Rainfall -2', withCell(sydney, 'Rainfall', '-2'), dlq('Rainfall')),
    csv(
      'csv-calm-direction',
      'WindDir9am N with WindSpeed9am 0',
      withCell(withCell(sydney, 'WindDir9am', 'N'), 'WindSpeed9am', '0'),
      dlq('WindDir9am'),
    ),
    csv(
      'csv-compass',
      'WindGustDir NORTHISH',
      withCell(sydney, 'WindGustDir', 'NORTHISH'),
      dlq('WindGustDir'),
    ),
    csv(
      'csv-case-variant',
      'station sydney (a second Sydney)',
      withCell(sydney, 'Location', 'sydney'),
      dlq('Location'),
    ),
    csv('csv-unknown-station', 'station Atlantis', withCell(sydney, 'Location', 'Atlantis'), dlq('Location')),
    csv('csv-station-space', 'station "Sydney "', withCell(sydney, 'Location', 'Sydney '), dlq('Location')),
    csv(
      'csv-station-glob',
      'station "Syd*ney:x" (Redis glob and key separator)',
      withCell(sydney, 'Location', 'Syd*ney:x'),
      dlq('Location'),
    ),
    csv('csv-station-empty', 'empty station', withCell(sydney, 'Location', ''), dlq('Location')),
    csv(
      'csv-long-line',
      'a 520 kB line (aborted the replay)',
      `${d1},Sydney,${'9'.repeat(520 * 1024)}`,
      dlq('row'),
    ),
    csv(
      'csv-1000-columns',
      'a line of 1000 columns',
      Array.from({ length: 1000 }, (_, i) => String(i)).join(','),
      dlq('row'),
    ),
    csv('csv-24-columns', 'one column too many', `${sydney},Yes`, dlq('row')),
    csv('csv-binary', 'binary junk', junk(300, 7), dlq('row')),
    csv(
      'csv-not-utf8',
      'invalid UTF-8 in a station name',
      Buffer.concat([
        Buffer.from(`${d1},Syd`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from(sydney.slice(sydney.indexOf(',', 11))),
      ]),
      dlq('row'),
    ),
    csv(
      'csv-stray-quote',
      'a quote that never closes (costs its line only)',
      withCell(sydney, 'Evaporation', '"4.2'),
      dlq('row'),
    ),
    csv(
      'csv-quoted-newline',
      'a quoted line break inside the station name: one record',
      withCell(sydney, 'Location', '"Syd\nney"'),
      dlq('Location'),
    ),
    csv(
      'csv-fully-quoted',
      'a valid row, every field quoted (refused by the landed reader)',
      realLine('Sydney', d2)
        .split(',')
        .map((c) => `"${c}"`)
        .join(','),
      { outcome: 'accepted', location: 'Sydney', date: d2 },
    ),
    csv(
      'csv-crlf',
      'a valid row ending in CRLF',
      perth,
      { outcome: 'accepted', location: 'Perth', date: d1 },
      '\r\n',
    ),
    csv(
      'csv-quoted-na',
      'a valid row with "NA" quoted',
      withCell(realLine('Melbourne', d1), 'Evaporation', '"NA"'),
      { outcome: 'accepted', location: 'Melbourne', date: d1 },
    ),
    csv('csv-darwin-after-2099', 'Darwin, a real day after the 2099 attempts', darwin, {
      outcome: 'accepted',
      location: 'Darwin',
      date: d1,
    }),
    csv('csv-identical-twice-1', 'a valid row ...', realLine('Hobart', d2), {
      outcome: 'accepted',
      location: 'Hobart',
      date: d2,
    }),
    csv('csv-identical-twice-2', '... and the same row again: a no-op', realLine('Hobart', d2), {
      outcome: 'duplicate',
      location: 'Hobart',
      date: d2,
    }),
    csv(
      'csv-conflict-in-file',
      'the same station day again with other values',
      withCell(withCell(realLine('Hobart', d2), 'Rainfall', '30'), 'RainToday', 'Yes'),
      dlq('row', { kind: 'conflict' }),
    ),
    csv(
      'csv-replayed-day',
      'a real day the warm-up sent already: a no-op',
      realLine('Albury', '2017-06-10'),
      { outcome: 'duplicate', location: 'Albury', date: '2017-06-10' },
    ),
    csv(
      'csv-conflicting-day',
      'a day the warm-up sent, with other values',
      withCell(withCell(realLine('Albury', '2017-06-15'), 'Rainfall', '25'), 'RainToday', 'Yes'),
      dlq('rainfall', { kind: 'conflict', stage: 'features' }),
    ),
    csv(
      'csv-late-day',
      'a day before the warm-up (never seen): late',
      realLine('Brisbane', '2017-03-15'),
      dlq('date', { kind: 'late', stage: 'features' }),
    ),
  ];

  // ---- raw records on the topics, past the replay's validation ----
  const raw = (
    id: string,
    title: string,
    topic: HostileTopic,
    key: string | null,
    value: (codec: EventCodec) => Buffer | null,
    expect: Expectation,
  ): KafkaCase => ({ id, title, kind: 'kafka', topic, key, value, expect });
  const obs = (fields: Partial<Observation> & { location?: string; date?: string }) => (codec: EventCodec) =>
    codec.encode('observation', observationOf(fields.location ?? 'Cobar', fields.date ?? d1, fields));
  const stage = (name: string, field: string, kind = 'invalid') => dlq(field, { stage: name, kind });
  cases.push(
    raw(
      'kafka-garbage',
      'bytes that are not Avro',
      'observations',
      'Cobar',
      () => junk(64, 3),
      dlq('value', { kind: 'decode' }),
    ),
    raw(
      'kafka-unknown-schema',
      'magic byte and a schema id the registry never issued',
      'observations',
      'Cobar',
      () => Buffer.concat([Buffer.from([0, 0x7f, 0xff, 0xff, 0xf0]), junk(40, 5)]),
      dlq('value', { kind: 'decode' }),
    ),
    raw(
      'kafka-wrong-schema',
      'a prediction record on the observations topic',
      'observations',
      'Cobar',
      (codec) => codec.encode('prediction', prediction('Cobar', d1)),
      dlq('value', { kind: 'decode' }),
    ),
    raw(
      'kafka-no-value',
      'a record without a value (tombstone)',
      'observations',
      'Cobar',
      () => null,
      dlq('value', { kind: 'decode' }),
    ),
    raw(
      'kafka-huge',
      'a 900 kB record of junk',
      'observations',
      'Cobar',
      () => junk(900_000, 11),
      dlq('value', { kind: 'decode' }),
    ),
    raw(
      'kafka-9999',
      'an observation of 9999-12-31',
      'observations',
      'Darwin',
      obs({ location: 'Darwin', date: '9999-12-31' }),
      stage('features', 'date'),
    ),
    raw(
      'kafka-2099',
      'Darwin 2099-01-01, past the replay',
      'observations',
      'Darwin',
      obs({ location: 'Darwin', date: '2099-01-01' }),
      stage('features', 'date'),
    ),
    raw(
      'kafka-1900',
      'an observation of 1900-01-01',
      'observations',
      'Darwin',
      obs({ location: 'Darwin', date: '1900-01-01' }),
      stage('features', 'date'),
    ),
    raw(
      'kafka-bad-date',
      'date "yesterday"',
      'observations',
      'Cobar',
      obs({ date: 'yesterday' }),
      stage('features', 'date'),
    ),
    raw(
      'kafka-nan',
      'humidity NaN',
      'observations',
      'Cobar',
      obs({ humidity3pm: Number.NaN }),
      stage('features', 'humidity3pm'),
    ),
    raw(
      'kafka-infinity',
      'temperature Infinity',
      'observations',
      'Cobar',
      obs({ temp3pm: Number.POSITIVE_INFINITY }),
      stage('features', 'temp3pm'),
    ),
    raw(
      'kafka-case',
      'station sydney',
      'observations',
      'sydney',
      obs({ location: 'sydney' }),
      stage('features', 'location'),
    ),
    raw('kafka-key', 'keyed Perth, about Cobar', 'observations', 'Perth', obs({}), stage('features', 'key')),
    raw(
      'kafka-oktas',
      'cloud 4.5 oktas',
      'observations',
      'Cobar',
      obs({ cloud9am: 4.5 }),
      stage('features', 'cloud9am'),
    ),
    raw(
      'kafka-rain',
      'RainToday false with 80 mm',
      'observations',
      'Cobar',
      obs({ rainfall: 80 }),
      stage('features', 'rainToday'),
    ),
    raw(
      'kafka-source',
      'a 10 kB source name',
      'observations',
      'Cobar',
      obs({ source: 's'.repeat(10_000) }),
      stage('features', 'source'),
    ),
    raw(
      'kafka-compass',
      'wind from "UP"',
      'observations',
      'Cobar',
      (codec) =>
        codec.encode('observation', {
          ...observationOf('Cobar', d1),
          windGustDir: 'UP',
        } as unknown as Observation),
      stage('features', 'windGustDir'),
    ),
    raw('kafka-valid', 'a valid observation, new day', 'observations', 'Cobar', obs({}), {
      outcome: 'accepted',
      location: 'Cobar',
      date: d1,
    }),
    raw(
      'kafka-valid-again',
      'the same observation again: a no-op',
      'observations',
      'Cobar',
      obs({ source: 'hostile-again' }),
      { outcome: 'duplicate', location: 'Cobar', date: d1 },
    ),
    raw(
      'kafka-conflict',
      'the same day with other readings',
      'observations',
      'Cobar',
      obs({ rainfall: 12, rainToday: true }),
      stage('features', 'rainfall', 'conflict'),
    ),
    raw(
      'kafka-late',
      'a day long before the warm-up',
      'observations',
      'Cobar',
      obs({ date: '2016-01-05' }),
      stage('features', 'date', 'late'),
    ),
    raw(
      'features-9999',
      'a feature vector of 9999-12-31 (crash loop in latestForecastOf)',
      'features',
      'Darwin',
      (codec) => codec.encode('features', featureVector('Darwin', '9999-12-31')),
      stage('predictor', 'date'),
    ),
    raw(
      'features-2099',
      'a feature vector of 2099-01-01',
      'features',
      'Darwin',
      (codec) => codec.encode('features', featureVector('Darwin', '2099-01-01')),
      stage('predictor', 'date'),
    ),
    raw(
      'features-infinity',
      'a feature vector holding Infinity',
      'features',
      'Darwin',
      (codec) =>
        codec.encode(
          'features',
          featureVector('Darwin', d3, { values: FEATURE_NAMES.map((_, i) => (i === 2 ? Infinity : 0)) }),
        ),
      stage('predictor', 'values[2]'),
    ),
    raw(
      'features-version',
      'a feature vector of another feature set',
      'features',
      'Darwin',
      (codec) => codec.encode('features', featureVector('Darwin', d3, { featureSetVersion: 'fs0' })),
      stage('predictor', 'featureSetVersion'),
    ),
    raw(
      'features-garbage',
      'junk on the features topic',
      'features',
      'Darwin',
      () => junk(50, 13),
      dlq('value', { kind: 'decode' }),
    ),
    raw(
      'predictions-9999',
      'a prediction of 9999-12-31 (crash loop in sweepExpired)',
      'predictions',
      'Darwin',
      (codec) => codec.encode('prediction', prediction('Darwin', '9999-12-31')),
      stage('labeler', 'date'),
    ),
    raw(
      'predictions-2099',
      'a prediction of 2099-01-01 (timed out the partition)',
      'predictions',
      'Darwin',
      (codec) => codec.encode('prediction', prediction('Darwin', '2099-01-01')),
      stage('labeler', 'date'),
    ),
    raw(
      'predictions-probability',
      'a probability of 2',
      'predictions',
      'Darwin',
      (codec) => codec.encode('prediction', prediction('Darwin', d3, { probability: 2 })),
      stage('labeler', 'probability'),
    ),
    raw(
      'predictions-label',
      'RainToday true with 0 mm: a wrong label',
      'predictions',
      'Darwin',
      (codec) => codec.encode('prediction', prediction('Darwin', d3, { rainToday: true, rainfall: 0 })),
      stage('labeler', 'rainToday'),
    ),
    raw(
      'predictions-garbage',
      'junk on the predictions topic',
      'predictions',
      'Darwin',
      () => junk(50, 17),
      dlq('value', { kind: 'decode' }),
    ),
  );

  // ---- HTTP requests to the API ----
  const post = (id: string, title: string, body: unknown, expect: Expectation): HttpCase => ({
    id,
    title,
    kind: 'http',
    method: 'POST',
    path: '/predict',
    body,
    expect,
  });
  const get = (id: string, title: string, path: string, expect: Expectation): HttpCase => ({
    id,
    title,
    kind: 'http',
    method: 'GET',
    path,
    expect,
  });
  const valid = { ...observationOf('Sydney', d3), source: undefined };
  cases.push(
    post('http-valid', 'a valid observation', valid, http(200)),
    post('http-9999', 'date 9999-12-31 (answered 500)', { ...valid, date: '9999-12-31' }, http(400, 'date')),
    post('http-1900', 'date 1900-01-01', { ...valid, date: '1900-01-01' }, http(400, 'date')),
    post('http-2099', 'date 2099-01-01', { ...valid, date: '2099-01-01' }, http(400, 'date')),
    post('http-horizon', `date ${pastHorizon}`, { ...valid, date: pastHorizon }, http(400, 'date')),
    post('http-datetime', 'a date with a time', { ...valid, date: `${d3}T00:00:00Z` }, http(400, 'date')),
    post(
      'http-max-below-min',
      'MaxTemp < MinTemp (answered 200)',
      { ...valid, maxTemp: 5, minTemp: 12, temp9am: null, temp3pm: null },
      http(400, 'maxTemp'),
    ),
    post(
      'http-no-with-80mm',
      'RainToday false with 80 mm (answered 200)',
      { ...valid, rainfall: 80, rainToday: false },
      http(400, 'rainToday'),
    ),
    post(
      'http-rain-alone',
      'rainfall without rainToday',
      { ...valid, rainToday: null },
      http(400, 'rainToday'),
    ),
    post('http-case', 'station sydney', { ...valid, location: 'sydney' }, http(400, 'location')),
    post('http-unknown', 'station Atlantis', { ...valid, location: 'Atlantis' }, http(400, 'location')),
    post('http-hex-string', 'humidity "0x32"', { ...valid, humidity3pm: '0x32' }, http(400, 'humidity3pm')),
    post('http-number-string', 'humidity "55"', { ...valid, humidity3pm: '55' }, http(400, 'humidity3pm')),
    post('http-oktas', 'cloud 4.5 oktas', { ...valid, cloud9am: 4.5 }, http(400, 'cloud9am')),
    post('http-huge-number', 'humidity 1e308', { ...valid, humidity3pm: 1e308 }, http(400, 'humidity3pm')),
    post(
      'http-calm',
      'a direction with no wind',
      { ...valid, windDir3pm: 'N', windSpeed3pm: 0 },
      http(400, 'windDir3pm'),
    ),
    post(
      'http-proto',
      'a __proto__ field',
      JSON.parse(`{"location":"Sydney","date":"${d3}","__proto__":{"polluted":1}}`),
      http(400),
    ),
    post('http-array', 'an array for a body', [valid], http(400)),
    post('http-null', 'null for a body', null, http(400)),
    {
      id: 'http-hex-literal',
      title: 'a JSON body with 0x32 written as a number',
      kind: 'http',
      method: 'POST',
      path: '/predict',
      rawBody: `{"location":"Sydney","date":"${d3}","humidity3pm":0x32}`,
      contentType: 'application/json',
      expect: http(400),
    },
    {
      id: 'http-deep',
      title: 'JSON nested 100,000 deep',
      kind: 'http',
      method: 'POST',
      path: '/predict',
      rawBody: `${'['.repeat(100_000)}${']'.repeat(100_000)}`,
      contentType: 'application/json',
      expect: http(413),
    },
    {
      id: 'http-big',
      title: 'a 64 kB body',
      kind: 'http',
      method: 'POST',
      path: '/predict',
      rawBody: JSON.stringify({ ...valid, source: 'x'.repeat(64 * 1024) }),
      contentType: 'application/json',
      expect: http(413),
    },
    {
      id: 'http-text',
      title: 'a text/plain body (read as text, not an object)',
      kind: 'http',
      method: 'POST',
      path: '/predict',
      rawBody: 'location=Sydney',
      contentType: 'text/plain',
      expect: http(400),
    },
    get(
      'http-get-case',
      'GET /predict?location=sydney (served a second Sydney)',
      '/predict?location=sydney',
      http(404, 'location'),
    ),
    get(
      'http-get-unknown',
      'GET /predict?location=Atlantis',
      '/predict?location=Atlantis',
      http(404, 'location'),
    ),
    get(
      'http-get-long',
      'a 10 kB location',
      `/predict?location=${'A'.repeat(10_000)}`,
      http(400, 'location'),
    ),
    get('http-get-nul', 'a NUL in the location', '/predict?location=Syd%00ney', http(400, 'location')),
    get(
      'http-get-array',
      'the location twice',
      '/predict?location=Sydney&location=Perth',
      http(400, 'location'),
    ),
    get(
      'http-get-injection',
      'a location with SQL in it',
      `/predict?location=${encodeURIComponent("Sydney'; DROP TABLE predictions; --")}`,
      http(400, 'location'),
    ),
    get('http-get-valid', 'GET /predict?location=Perth', '/predict?location=Perth', http(200)),
    get(
      'http-metrics-far',
      'prequential scores from 9999-12-31',
      '/metrics/prequential?from=9999-12-31',
      http(200),
    ),
    get(
      'http-metrics-bad',
      'prequential scores from "yesterday"',
      '/metrics/prequential?from=yesterday',
      http(400, 'from'),
    ),
  );
  // ---- the labeled topic: only the label join writes it, with validated examples ----
  const labeled = (date: string) => (codec: EventCodec) =>
    codec.encode('labeled', {
      location: 'Darwin',
      date,
      featureSetVersion: FEATURE_SET_VERSION,
      values: FEATURE_NAMES.map(() => 0.5),
      label: true,
      rainfallNext: 5,
      task: 'rain',
      target: null,
      value: null,
      probability: 0.4,
      modelVersion: 'hostile',
    });
  cases.push(
    raw(
      'labeled-garbage',
      'junk on the labeled topic',
      'labeled',
      'Darwin',
      () => junk(50, 19),
      dlq('value', { kind: 'decode' }),
    ),
    raw(
      'labeled-bad-date',
      'a labeled example dated "yesterday"',
      'labeled',
      'Darwin',
      labeled('yesterday'),
      stage('drift', 'date'),
    ),
    raw(
      'labeled-9999',
      'a labeled example of 9999-12-31',
      'labeled',
      'Darwin',
      labeled('9999-12-31'),
      stage('drift', 'date'),
    ),
  );
  return includePending ? cases : cases.filter((c) => c.pendingOn === undefined);
}
