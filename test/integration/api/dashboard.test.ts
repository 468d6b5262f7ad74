/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core) on a real deployment: the
 * pipeline runs over a replay slice of the weatherAUS file (two stations, fifteen months, retraining on), the
 * API serves it, and the page is used as a person would: pick a station, read the forecast, move the
 * threshold with the keyboard. The numbers on the page must be the API's, tomorrow's maximum temperature
 * included: the pipeline runs the default tasks, rain and max_temp, so the predictor writes both latest
 * forecasts to Redis as in production. A screenshot is kept in .state/artifacts/dashboard.png, the first
 * load's timing and requests in .state/artifacts/dashboard-load.json (reported, never asserted).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiSettingsOf, buildApp } from '../../../api/app.ts';
import { startPipeline, type Pipeline } from '../../../consumers/host/pipeline.ts';
import { waitForDrain } from '../../../lib/deployment/drain.ts';
import type { EventCodec } from '../../../lib/domain/events.ts';
import { STATE_KEYS } from '../../../lib/domain/state-keys.ts';
import { readWeatherCsvFile } from '../../../lib/domain/weather/csv.ts';
import { startChampionWatcher } from '../../../lib/models/champion-watcher.ts';
import { createClickHouse } from '../../../lib/platform/clickhouse/client.ts';
import { DEFAULT_DATA_FILE } from '../../../lib/platform/config.ts';
import type { Producer } from '../../../lib/platform/kafka/client.ts';
import { createProducer } from '../../../lib/platform/kafka/producer.ts';
import { createRedis } from '../../../lib/platform/redis.ts';
import { championPoller } from '../../../producers/replay/gate.ts';
import { replay } from '../../../producers/replay/replay.ts';
import { launchChromium } from '../../support/chromium.ts';
import { pollUntil, testContext, type TestContext } from '../../support/integration.ts';

const ARTIFACTS = fileURLToPath(new URL('../../../.state/artifacts/', import.meta.url));
const STATIONS = ['Sydney', 'Perth'];

let ctx: TestContext;
let pipeline: Pipeline;
let producer: Producer;
let codec: EventCodec;
let app: FastifyInstance;
let base: string;
let browser: BrowserContext;
let page: Page;
const problems: string[] = [];
/** The forecasts the page asked for and the API did not have (404s Chromium logs as console errors). */
const notFound: string[] = [];

async function api<T = Record<string, unknown>>(path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  expect(res.status, path).toBe(200);
  return (await res.json()) as T;
}

/** GET /predict?task=max_temp of a station: what the page's temperature tile shows. */
interface MaxTempForecast {
  value: number;
  unit: string;
  forecastFor: string;
  modelVersion: string;
}

beforeAll(async () => {
  ctx = await testContext('dashboard');
  expect(ctx.config.pipeline.tasks).toContain('max_temp');
  const config = {
    ...ctx.config,
    pipeline: { ...ctx.config.pipeline, retrainMinRows: 300 },
  };
  await ctx.ensureTopics();
  codec = await ctx.registerSchemas();
  pipeline = await startPipeline(config, ctx.logger, [
    'features',
    'predictor',
    'labeler',
    'drift',
    'trainer',
  ]);
  producer = createProducer(ctx.kafka);
  await producer.connect();
  const rows = await readWeatherCsvFile(DEFAULT_DATA_FILE);
  const summary = await replay(
    rows,
    'weatherAUS.csv.gz',
    {
      locations: STATIONS,
      from: '2010-01-01',
      to: '2011-03-31',
      warmupUntil: '2010-12-31',
      speed: 400,
      quiet: true,
    },
    {
      producer,
      codec,
      topics: ctx.config.topics,
      logger: ctx.logger,
      waitForTrainedChampion: championPoller(ctx.clickhouse, { intervalMs: 200, timeoutMs: 180_000 }),
    },
  );
  await waitForDrain(ctx.clickhouse, { predictions: summary.events, stallMs: 60_000 });

  const clickhouse = createClickHouse(ctx.config.clickhouse);
  const champions = await startChampionWatcher({
    kafka: ctx.kafka,
    codec,
    clickhouse,
    topics: ctx.config.topics,
    logger: ctx.logger,
  });
  app = buildApp({
    redis: createRedis(ctx.config.redis),
    clickhouse,
    champions,
    decisionThreshold: ctx.config.pipeline.decisionThreshold,
    kafka: { kafka: ctx.kafka, producer, codec, registryUrl: ctx.config.registry.url },
    settings: apiSettingsOf(ctx.config),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  browser = await launchChromium();
  page = await browser.newPage();
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const url = m.location().url;
    // A station without a forecast is a 404 of /predict, which the page shows and Chromium logs.
    if (m.text().includes('status of 404') && new URL(url, base).pathname === '/predict') notFound.push(url);
    else problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await app?.close();
  await pipeline?.stop();
  await ctx?.cleanup();
});

/** The probability as the page writes it. */
const shown = (p: number) => `${(p * 100).toFixed(1)}%`;

describe('dashboard in Chromium', () => {
  it('loads, with every panel filled and nothing refused by the CSP', async () => {
    // Loaded twice: the first load after the API started, then a reload (the browser's cache of the assets
    // and the API's of the answers warm). Reported, not asserted: the machine is shared, a timing would
    // make the test flaky.
    for (const load of ['first load', 'reload']) {
      const started = performance.now();
      if (load === 'first load') await page.goto(`${base}/`);
      else await page.reload();
      await page.waitForSelector('body[data-loaded="true"]', { timeout: 30_000 });
      const timing = await page.evaluate(() => {
        // Runs in the page (the DOM's Performance, which Node's types do not describe).
        const navigation = (
          performance.getEntriesByType as unknown as (type: string) => { domContentLoadedEventEnd: number }[]
        )('navigation')[0]!;
        return {
          loaded: performance.getEntriesByName('rainstream-loaded')[0]?.startTime ?? NaN,
          domContentLoaded: navigation.domContentLoadedEventEnd,
          requests: performance
            .getEntriesByType('resource')
            .map(
              (e) =>
                `${Math.round(e.startTime)}+${Math.round(e.duration)} ms ${new URL(e.name).pathname}${new URL(e.name).search}`,
            ),
        };
      });
      if (load === 'first load') {
        // The first view's requests are preloaded by the HTML (first-view.js): the page must ask for exactly
        // those, so each is fetched once, not once as a preload and again by the script.
        const paths = timing.requests.map((r) => r.slice(r.indexOf(' ms ') + 4));
        expect(paths.filter((p, i) => paths.indexOf(p) !== i)).toEqual([]);
        expect(paths.filter((p) => p.startsWith('/predict?location=')).length).toBe(1);
        expect(paths.filter((p) => p.startsWith('/predict?task=max_temp&location=')).length).toBe(1);
        mkdirSync(ARTIFACTS, { recursive: true });
        writeFileSync(
          `${ARTIFACTS}dashboard-load.json`,
          `${JSON.stringify({ loadedMs: Math.round(timing.loaded), domContentLoadedMs: Math.round(timing.domContentLoaded), requests: timing.requests }, null, 2)}\n`,
        );
      }
      console.log(
        `dashboard ${load}: loaded in ${Math.round(timing.loaded)} ms from navigation start (DOM ready at ` +
          `${Math.round(timing.domContentLoaded)} ms; ${Math.round(performance.now() - started)} ms as the ` +
          `test waited); requests (start+duration): ${timing.requests.join(', ')}`,
      );
    }
    const options = await page.locator('#station option').allTextContents();
    expect(options.slice(0, 2).sort()).toEqual(STATIONS.slice().sort());
    await expect.poll(() => page.locator('#history-chart canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#calibration-chart canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#weekly-chart canvas').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#alias-history tbody tr').count()).toBeGreaterThan(0);
    await expect.poll(() => page.locator('#lag tbody tr').count()).toBe(5);
    expect(problems).toEqual([]);
  });

  it('shows the API forecast of the station picked, and its history', async () => {
    await page.selectOption('#station', 'Perth');
    await expect.poll(() => page.textContent('#forecast-station')).toBe('Perth');
    const forecast = await api<{
      probability: number;
      decision: boolean;
      threshold: number;
      modelVersion: string;
      forecastFor: string;
    }>('/predict?location=Perth');
    await expect
      .poll(() => page.getAttribute('#probability', 'data-value'))
      .toBe(String(forecast.probability));
    expect(await page.textContent('#probability')).toBe(shown(forecast.probability));
    expect(await page.textContent('#forecast-model')).toBe(forecast.modelVersion);
    expect(await page.textContent('#forecast-for')).toBe(forecast.forecastFor);
    expect(await page.textContent('#decision')).toBe(forecast.decision ? 'Rain' : 'No rain');

    const maxTemp = await api<MaxTempForecast>('/predict?task=max_temp&location=Perth');
    await expect.poll(() => page.getAttribute('#max-temp-value', 'data-value')).toBe(String(maxTemp.value));
    expect(maxTemp.unit).toBe('°C');
    expect(await page.textContent('#max-temp-value')).toBe(`${maxTemp.value.toFixed(1)} °C`);
    expect(await page.textContent('#max-temp-for')).toBe(maxTemp.forecastFor);
    expect(await page.textContent('#max-temp-model')).toBe(maxTemp.modelVersion);
    expect(await page.textContent('#max-temp-title')).toContain("Tomorrow's maximum temperature at Perth");

    const history = await api<{ points: unknown[] }>('/predictions?location=Perth');
    await expect
      .poll(() => page.textContent('#history-summary'))
      .toContain(`${history.points.length > 0 ? '' : 'No'}`);
    const label = await page.getAttribute('#history-chart', 'aria-label');
    expect(label).toContain(`Perth: ${history.points.length} days`);
    const quality = await api<{ rows: { bucket: string; rocAuc: number | null }[] }>(
      '/quality?groupBy=location&threshold=0.5',
    );
    const perth = quality.rows.find((r) => r.bucket === 'Perth')!;
    const row = page.locator('#by-station tr.selected td');
    await expect.poll(() => row.first().textContent()).toBe('Perth');
    expect(await row.nth(2).textContent()).toBe(perth.rocAuc === null ? '–' : perth.rocAuc.toFixed(3));
  });

  it('takes the decision at the threshold set with the keyboard, as the API does', async () => {
    const { probability } = await api<{ probability: number }>('/predict?location=Perth');
    // Step the slider with the keyboard to just above the probability: the decision must be "No rain".
    const target = Math.min(1, Math.ceil(probability * 100 + 1e-9) / 100 + 0.01);
    const current = Number(await page.inputValue('#threshold'));
    await page.focus('#threshold');
    const steps = Math.round((target - current) * 100);
    for (let i = 0; i < Math.abs(steps); i++)
      await page.keyboard.press(steps > 0 ? 'ArrowRight' : 'ArrowLeft');
    const threshold = Number(await page.inputValue('#threshold'));
    await expect.poll(() => page.textContent('#decision-threshold')).toBe(threshold.toFixed(2));
    const atThreshold = await api<{ decision: boolean; threshold: number }>(
      `/predict?location=Perth&threshold=${threshold}`,
    );
    expect(atThreshold.decision).toBe(probability >= threshold);
    await expect.poll(() => page.textContent('#decision')).toBe(atThreshold.decision ? 'Rain' : 'No rain');
    expect(page.url()).toContain(`threshold=${threshold.toFixed(2)}`);

    // And below it: "Rain".
    await page
      .locator('#threshold')
      .fill(String(Math.max(0, Math.floor(probability * 100) / 100 - 0.05).toFixed(2)));
    const low = Number(await page.inputValue('#threshold'));
    await expect.poll(() => page.textContent('#decision-threshold')).toBe(low.toFixed(2));
    await expect.poll(() => page.textContent('#decision')).toBe('Rain');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.waitForLoadState('networkidle');
    await page.screenshot({ path: `${ARTIFACTS}dashboard.png`, fullPage: true });
    expect(problems).toEqual([]);
  });

  it('says "no forecast yet" of a station without a maximum temperature forecast, rain or none', async () => {
    // Sydney as a deployment that does not run max_temp would have it: rain's forecast, no temperature.
    await ctx.redis.client.del(ctx.redis.key(...STATE_KEYS.latestOf('max_temp', 'Sydney')));
    await pollUntil(
      async () => (await fetch(`${base}/predict?task=max_temp&location=Sydney`)).status === 404,
      { what: "the API to have dropped Sydney's max_temp forecast", timeoutMs: 10_000 },
    );
    await page.selectOption('#station', 'Sydney');
    const rain = await api<{ probability: number }>('/predict?location=Sydney');
    await expect.poll(() => page.getAttribute('#probability', 'data-value')).toBe(String(rain.probability));
    await expect.poll(() => page.textContent('#max-temp-value')).toBe('no forecast yet');
    expect(await page.getAttribute('#max-temp-value', 'data-value')).toBeNull();
    expect(await page.textContent('#max-temp-for')).toBe('–');
    expect(await page.textContent('#max-temp-model')).toBe('–');

    // A station of the registry the replay did not cover: neither forecast.
    const [other] = (await page.locator('#station option').allTextContents()).filter((o) =>
      o.endsWith(' (no forecast)'),
    );
    const station = other!.replace(' (no forecast)', '');
    await page.selectOption('#station', station);
    await expect.poll(() => page.textContent('#decision')).toBe('no forecast yet');
    await expect.poll(() => page.textContent('#max-temp-value')).toBe('no forecast yet');
    expect(await page.textContent('#max-temp-title')).toContain(station);
    // Nothing of Sydney's forecast stays on the rain tile.
    expect(await page.getAttribute('#probability', 'data-value')).toBeNull();
    for (const id of ['#forecast-for', '#forecast-date', '#forecast-model'])
      expect(await page.textContent(id)).toBe('–');
    // Each 404 the page met is one of these (the 15-second refresh may have asked again).
    const missing = () => [
      ...new Set(
        notFound.map((u) => {
          const q = new URL(u).searchParams;
          return `${q.get('task') ?? 'rain'} ${q.get('location')}`;
        }),
      ),
    ];
    await expect
      .poll(() => missing().sort())
      .toEqual(['max_temp Sydney', `max_temp ${station}`, `rain ${station}`].sort());
    expect(await page.textContent('#status')).toBe('');
    expect(problems).toEqual([]);
  });

  it('serves Swagger UI at /docs under its CSP', async () => {
    const docs = await browser.newPage();
    const errors: string[] = [];
    docs.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    await docs.goto(`${base}/docs`);
    await docs.waitForSelector('.opblock', { timeout: 30_000 });
    expect(await docs.locator('.opblock').count()).toBeGreaterThan(15);
    await docs.screenshot({ path: `${ARTIFACTS}docs.png` });
    expect(errors).toEqual([]);
    await docs.close();
  });

  it('keeps the pipeline view live: lag per stage from Kafka', async () => {
    const body = await pollUntil(
      async () => {
        const b = await api<{ stages: { stage: string; lag: number | null }[] }>('/pipeline');
        return b.stages.find((s) => s.stage === 'predictor')?.lag === 0 ? b : null;
      },
      { what: 'the predictor to have no lag', timeoutMs: 30_000 },
    );
    expect(body.stages.map((s) => s.stage)).toContain('alerts');
  });
});
