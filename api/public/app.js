// The rainstream dashboard: plain DOM and uPlot, every figure read from this API's own routes.
// State lives in the URL hash (#station=Sydney&threshold=0.6), so a view can be bookmarked or shared.
/* global uPlot */
import {
  DEFAULT_THRESHOLD,
  firstView,
  forecastUrl,
  historyUrl,
  qualityUrl,
  valueForecastUrl,
  weeklyUrl,
} from './first-view.js';

const $ = (id) => document.getElementById(id);
const state = {
  station: null,
  threshold: DEFAULT_THRESHOLD,
  latestDate: null,
  byStation: null,
  bySeason: null,
  charts: {},
};
const pct = (p) => (p === null || p === undefined ? '–' : `${(p * 100).toFixed(1)}%`);
const num = (x, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? '–' : Number(x).toFixed(d));
const dayS = (date) => Date.parse(`${date}T00:00:00Z`) / 1000;

function status(text) {
  $('status').textContent = text;
}

async function api(path) {
  // A plain GET (no headers of its own): the first view's requests are preloaded by index.html, and a
  // request must match its preload to be served by it.
  const res = await fetch(path);
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const err = new Error(body.reason ?? body.error ?? `HTTP ${res.status}`);
    err.status = res.status;
    throw err;
  }
  return body;
}

/** A table from a header row and rows of cells; a cell may be { text, className }. */
function table(el, caption, headers, rows, selected = () => false) {
  el.replaceChildren();
  if (caption) el.createCaption().textContent = caption;
  const head = el.createTHead().insertRow();
  for (const h of headers) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = h;
    head.append(th);
  }
  const body = el.createTBody();
  if (rows.length === 0) {
    const td = body.insertRow().insertCell();
    td.colSpan = headers.length;
    td.textContent = 'nothing yet';
  }
  for (const row of rows) {
    const tr = body.insertRow();
    if (selected(row)) tr.className = 'selected';
    for (const cell of row) {
      const td = tr.insertCell();
      if (cell !== null && typeof cell === 'object') {
        td.textContent = cell.text;
        if (cell.className) td.className = cell.className;
      } else td.textContent = cell ?? '–';
    }
  }
}

function chart(key, el, options, data) {
  state.charts[key]?.destroy();
  el.replaceChildren();
  const width = Math.max(280, el.clientWidth || el.parentElement.clientWidth - 32);
  state.charts[key] = new uPlot({ width, height: 240, ...options }, data, el);
}

function readHash() {
  const params = new URLSearchParams(location.hash.slice(1));
  const t = Number(params.get('threshold'));
  return {
    station: params.get('station'),
    threshold: params.has('threshold') && t >= 0 && t <= 1 ? t : null,
  };
}

function writeHash() {
  const params = new URLSearchParams({ station: state.station ?? '', threshold: state.threshold.toFixed(2) });
  history.replaceState(null, '', `#${params}`);
}

// ---------------------------------------------------------------- the forecast

async function loadForecast() {
  const station = state.station;
  $('forecast-station').textContent = station;
  try {
    const f = await api(forecastUrl(station, state.threshold));
    if (station !== state.station) return;
    $('probability').textContent = pct(f.probability);
    $('probability').dataset.value = String(f.probability);
    const decision = $('decision');
    decision.textContent = f.decision ? 'Rain' : 'No rain';
    decision.className = `decision ${f.decision ? 'rain' : 'dry'}`;
    decision.dataset.value = String(f.decision);
    $('decision-threshold').textContent = f.threshold.toFixed(2);
    $('forecast-for').textContent = f.forecastFor;
    $('forecast-date').textContent = f.date;
    $('forecast-model').textContent = f.modelVersion;
  } catch (error) {
    // An answer for a station picked since is not this tile's to show.
    if (station !== state.station) return;
    $('probability').textContent = '–';
    delete $('probability').dataset.value;
    $('decision').textContent = error.status === 404 ? 'no forecast yet' : 'unavailable';
    $('decision').className = 'decision';
    delete $('decision').dataset.value;
    // The station without a forecast must not show the last station's dates and model.
    for (const id of ['decision-threshold', 'forecast-for', 'forecast-date', 'forecast-model'])
      $(id).textContent = '–';
  }
}

/**
 * The station's maximum temperature tomorrow (task max_temp). A 404 (the task is not run here, or has no
 * forecast for the station yet) is what the tile says, not a failure of the page.
 */
async function loadMaxTemp() {
  const station = state.station;
  $('max-temp-station').textContent = station;
  const value = $('max-temp-value');
  try {
    const f = await api(valueForecastUrl('max_temp', station));
    if (station !== state.station) return;
    value.textContent = Number.isFinite(f.value) ? `${f.value.toFixed(1)} ${f.unit || '°C'}` : '–';
    value.className = 'big';
    value.dataset.value = String(f.value);
    $('max-temp-for').textContent = f.forecastFor;
    $('max-temp-model').textContent = f.modelVersion;
  } catch (error) {
    if (station !== state.station) return;
    value.textContent = error.status === 404 ? 'no forecast yet' : 'unavailable';
    value.className = 'big none';
    delete value.dataset.value;
    $('max-temp-for').textContent = '–';
    $('max-temp-model').textContent = '–';
    if (error.status !== 404) throw error;
  }
}

// ---------------------------------------------------------------- 90 days

let historyPoints = [];

function drawHistory() {
  const points = historyPoints;
  const xs = points.map((p) => dayS(p.date));
  const probability = points.map((p) => p.probability);
  const threshold = points.map(() => state.threshold);
  const rained = points.map((p) => (p.rainTomorrow === true ? 1 : null));
  const changes = [];
  for (let i = 1; i < points.length; i++)
    if (points[i].modelVersion !== points[i - 1].modelVersion)
      changes.push({ x: xs[i], version: points[i].modelVersion });
  const annotate = (u) => {
    const ctx = u.ctx;
    ctx.save();
    ctx.strokeStyle = '#7a3ff2';
    ctx.fillStyle = '#7a3ff2';
    ctx.setLineDash([4, 4]);
    ctx.font = `${11 * devicePixelRatio}px system-ui`;
    for (const c of changes) {
      const x = u.valToPos(c.x, 'x', true);
      ctx.beginPath();
      ctx.moveTo(x, u.bbox.top);
      ctx.lineTo(x, u.bbox.top + u.bbox.height);
      ctx.stroke();
      ctx.fillText(c.version, x + 4, u.bbox.top + 14 * devicePixelRatio);
    }
    ctx.restore();
  };
  chart(
    'history',
    $('history-chart'),
    {
      scales: { x: { time: true }, y: { range: [0, 1.05] } },
      series: [
        {},
        { label: 'probability', stroke: '#1d2430', width: 2, value: (_u, v) => pct(v) },
        {
          label: 'threshold',
          stroke: '#b35c00',
          dash: [6, 4],
          width: 1,
          points: { show: false },
          value: (_u, v) => num(v, 2),
        },
        {
          label: 'rained next day',
          stroke: '#1f6feb',
          fill: '#1f6feb',
          width: 0,
          paths: () => null,
          points: { show: true, size: 7, fill: '#1f6feb' },
          value: (_u, v) => (v === null ? 'no or pending' : 'yes'),
        },
      ],
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => `${Math.round(t * 100)}%`) }],
      hooks: { draw: [annotate] },
    },
    [xs, probability, threshold, rained],
  );
  const joined = points.filter((p) => p.outcome === 'joined');
  const hits = joined.filter((p) => p.probability >= state.threshold === p.rainTomorrow).length;
  $('history-chart').setAttribute(
    'aria-label',
    `Forecast history of ${state.station}: ${points.length} days, ${joined.filter((p) => p.rainTomorrow).length} rain days, ${changes.length} model changes`,
  );
  $('history-summary').textContent = points.length
    ? `${points[0].date} to ${points[points.length - 1].date}: ${joined.length} days with outcomes, ` +
      `${hits} right at threshold ${state.threshold.toFixed(2)} (${pct(joined.length ? hits / joined.length : null)}); ` +
      `${changes.length} model change${changes.length === 1 ? '' : 's'}.`
    : 'No forecasts stored for this station yet.';
}

async function loadHistory() {
  const station = state.station;
  const body = await api(historyUrl(station));
  if (station !== state.station) return;
  historyPoints = body.points;
  drawHistory();
}

// ---------------------------------------------------------------- quality

/** The station's reliability plot, from the per-station quality rows (no request of its own). */
function drawCalibration() {
  const row = (state.byStation ?? []).find((r) => r.bucket === state.station);
  const bins = (row?.calibration ?? []).filter((b) => b.n > 0);
  const xs = bins.map((b) => b.meanProbability);
  chart(
    'calibration',
    $('calibration-chart'),
    {
      scales: { x: { time: false, range: [0, 1] }, y: { range: [0, 1] } },
      series: [
        { label: 'forecast', value: (_u, v) => pct(v) },
        {
          label: 'observed',
          stroke: '#1f6feb',
          width: 2,
          points: { show: true, size: 8 },
          value: (_u, v) => pct(v),
        },
        { label: 'perfect', stroke: '#9aa4b2', dash: [4, 4], width: 1, points: { show: false } },
      ],
      axes: [
        { values: (_u, t) => t.map((v) => `${Math.round(v * 100)}%`) },
        { values: (_u, t) => t.map((v) => `${Math.round(v * 100)}%`) },
      ],
    },
    [xs, bins.map((b) => b.observed), xs],
  );
}

async function loadWeekly() {
  const body = await api(weeklyUrl(state.latestDate, state.threshold));
  const rows = body.rows;
  chart(
    'weekly',
    $('weekly-chart'),
    {
      scales: { x: { time: true }, y: { range: [0, 1] } },
      series: [
        {},
        { label: 'ROC AUC', stroke: '#1f6feb', width: 2, value: (_u, v) => num(v) },
        { label: 'Brier', stroke: '#b42318', width: 2, value: (_u, v) => num(v) },
        { label: 'accuracy', stroke: '#2da44e', width: 2, value: (_u, v) => num(v) },
      ],
    },
    [
      rows.map((r) => dayS(r.bucket)),
      rows.map((r) => r.rocAuc),
      rows.map((r) => r.brier),
      rows.map((r) => r.accuracy),
    ],
  );
}

/** Quality per station and per season at the threshold; the per-station rows also feed the reliability plot. */
async function loadFairness() {
  const t = state.threshold;
  const [byStation, bySeason] = await Promise.all([
    api(qualityUrl('location', t)),
    api(qualityUrl('season', t)),
  ]);
  if (t !== state.threshold) return;
  state.byStation = byStation.rows;
  state.bySeason = bySeason.rows;
  drawFairness();
}

function drawFairness() {
  drawCalibration();
  const headers = ['', 'n', 'ROC AUC', 'Brier', 'accuracy', 'recall', 'precision'];
  const cells = (r) => [
    r.bucket,
    r.n,
    num(r.rocAuc),
    num(r.brier),
    num(r.accuracy),
    num(r.recall),
    num(r.precision),
  ];
  table(
    $('by-station'),
    null,
    ['station', ...headers.slice(1)],
    state.byStation.map(cells),
    (row) => row[0] === state.station,
  );
  table($('by-season'), null, ['season', ...headers.slice(1)], state.bySeason.map(cells));
}

// ---------------------------------------------------------------- drift, registry, pipeline

async function loadDrift() {
  const body = await api('/drift');
  table(
    $('drift'),
    `Task: ${body.task}`,
    ['feature', 'statistic', 'opened', 'last week', 'weeks', 'max', 'threshold', 'state'],
    body.incidents.map((i) => [
      `${i.kind}: ${i.name}`,
      i.statistic,
      i.openedWeek,
      i.lastWeek,
      i.weeks,
      num(i.maxValue),
      num(i.threshold, 2),
      i.open ? { text: 'open', className: 'bad' } : 'closed',
    ]),
  );
}

async function loadRegistry() {
  const [champion, models] = await Promise.all([api('/models/champion'), api('/models?limit=20')]);
  const challenger = models.history.challenger[0];
  const dl = $('aliases');
  dl.replaceChildren();
  const fact = (term, value) => {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = value;
    dl.append(dt, dd);
  };
  fact('champion', champion.version ?? `${champion.serving.version} (prior, nothing promoted yet)`);
  fact('serving here', `${champion.serving.version} (${champion.serving.family})`);
  fact('challenger', challenger ? challenger.version : '–');
  const changes = [...models.history.champion, ...models.history.challenger].sort((a, b) =>
    a.changedAt < b.changedAt ? 1 : -1,
  );
  table(
    $('alias-history'),
    'Alias history',
    ['alias', 'version', 'previous', 'when', 'why'],
    changes.map((h) => [h.alias, h.version, h.previousVersion || '–', h.changedAt, h.reason]),
  );
}

async function loadPipeline() {
  try {
    const p = await api('/pipeline');
    table(
      $('lag'),
      'Consumer lag',
      ['stage', 'group', 'lag'],
      p.stages.map((s) => [s.stage, s.groupId, s.lag ?? '–']),
    );
    table(
      $('rates'),
      'Topics',
      ['topic', 'records', 'per second'],
      p.topics.map((t) => [t.topic, t.records, t.perSecond === null ? '…' : t.perSecond.toFixed(1)]),
    );
    table(
      $('dlq'),
      `DLQ: ${p.dlq.total} records`,
      ['reason', 'field', 'count'],
      p.dlq.reasons.map((r) => [r.reason, r.field || '–', r.count]),
    );
  } catch (error) {
    table($('lag'), 'Consumer lag', ['pipeline'], [[`unavailable: ${error.message}`]]);
  }
}

// ---------------------------------------------------------------- wiring

async function settle(label, promises) {
  const results = await Promise.allSettled(promises);
  const failed = results.filter((r) => r.status === 'rejected');
  status(
    failed.length ? `${label}: ${failed.length} panel(s) could not load (${failed[0].reason.message})` : '',
  );
}

async function selectStation(station) {
  state.station = station;
  $('station').value = station;
  writeHash();
  await settle('station', [
    loadForecast(),
    loadMaxTemp(),
    loadHistory(),
    // Quality rows do not depend on the station: fetched once per threshold, redrawn per station.
    state.byStation ? Promise.resolve(drawFairness()) : loadFairness(),
  ]);
}

let thresholdTimer = null;
function onThreshold() {
  state.threshold = Number($('threshold').value);
  $('threshold-value').textContent = state.threshold.toFixed(2);
  writeHash();
  if (historyPoints.length) drawHistory();
  clearTimeout(thresholdTimer);
  // The forecast follows the slider at once; the tables once it rests.
  void loadForecast();
  thresholdTimer = setTimeout(() => void settle('threshold', [loadFairness(), loadWeekly()]), 250);
}

async function start() {
  const wanted = readHash();
  // The panels that depend on neither the station nor the threshold start at once, beside the station list.
  const overview = [loadDrift(), loadRegistry(), loadPipeline()];
  const { locations } = await api('/locations');
  const select = $('station');
  const withForecast = locations.filter((l) => l.forecastDate !== null);
  // The station and threshold to open on, as the server worked them out for its preloads (first-view.js).
  const view = firstView(locations, wanted);
  state.latestDate = view.latestDate;
  for (const l of [...withForecast, ...locations.filter((x) => x.forecastDate === null)]) {
    const option = new Option(
      l.forecastDate === null ? `${l.location} (no forecast)` : l.location,
      l.location,
    );
    select.add(option);
  }
  const first = view.station;
  state.threshold = view.threshold;
  $('threshold').value = String(state.threshold);
  $('threshold-value').textContent = state.threshold.toFixed(2);
  select.addEventListener('change', () => void selectStation(select.value));
  $('threshold').addEventListener('input', onThreshold);
  $('controls').addEventListener('submit', (e) => e.preventDefault());
  window.addEventListener('hashchange', () => {
    const h = readHash();
    if (h.station && h.station !== state.station) void selectStation(h.station);
  });
  const overviewDone = settle('overview', [...overview, loadWeekly()]);
  if (first) await selectStation(first);
  // Loaded means every panel, the station's and the overview's, has its data.
  await overviewDone;
  // From navigation start to every panel filled, as the browser measures it (read by the browser test).
  performance.mark('rainstream-loaded');
  document.body.dataset.loaded = 'true';
  setInterval(() => void settle('refresh', [loadForecast(), loadMaxTemp(), loadPipeline()]), 15_000);
}

start().catch((error) => status(`dashboard could not start: ${error.message}`));
