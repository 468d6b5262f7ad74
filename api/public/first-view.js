// The dashboard's first view: the station and threshold it opens on, and the requests that view makes.
// Shared by the page (app.js) and the server (api/routes/dashboard.ts), which names these requests as
// preloads in the HTML so that they run beside the scripts instead of after them. One module builds the
// URLs for both: a preload is only used when the page asks for exactly its URL.

/** The threshold the page opens with when neither the address nor the station's forecast names one. */
export const DEFAULT_THRESHOLD = 0.5;

/** What the page asks for whatever the station and the threshold. */
export const OVERVIEW_URLS = ['/locations', '/drift', '/models/champion', '/models?limit=20', '/pipeline'];

/**
 * The station and threshold the page opens on: the ones the address names (`wanted`), else the first
 * station with a forecast and the threshold that forecast was made with. `latestDate` is the newest
 * forecast date of any station (where the weekly scores end).
 */
export function firstView(locations, wanted = { station: null, threshold: null }) {
  const withForecast = locations.filter((l) => l.forecastDate !== null);
  const latestDate = withForecast.reduce((d, l) => (l.forecastDate > d ? l.forecastDate : d), '') || null;
  const station = wanted.station ?? withForecast[0]?.location ?? locations[0]?.location ?? null;
  const stationThreshold = locations.find((l) => l.location === station)?.threshold ?? null;
  const threshold = wanted.threshold ?? stationThreshold ?? DEFAULT_THRESHOLD;
  return { station, threshold, latestDate };
}

export const forecastUrl = (station, threshold) =>
  `/predict?location=${encodeURIComponent(station)}&threshold=${threshold}`;

/** The latest forecast of a regression task (`max_temp`) at the station: its value, not a probability. */
export const valueForecastUrl = (task, station) =>
  `/predict?task=${encodeURIComponent(task)}&location=${encodeURIComponent(station)}`;

export const historyUrl = (station) => `/predictions?location=${encodeURIComponent(station)}`;

export const qualityUrl = (groupBy, threshold) => `/quality?groupBy=${groupBy}&threshold=${threshold}`;

/** The weekly scores of the 52 weeks up to `latestDate` (all weeks when there is none). */
export function weeklyUrl(latestDate, threshold) {
  const from = latestDate
    ? new Date(Date.parse(`${latestDate}T00:00:00Z`) - 364 * 86_400_000).toISOString().slice(0, 10)
    : null;
  return `/quality?groupBy=week${from ? `&from=${from}` : ''}&threshold=${threshold}`;
}

/** Every request of the first view, the overview's included. */
export function firstViewUrls(view) {
  return [
    ...OVERVIEW_URLS,
    ...(view.station === null
      ? []
      : [
          forecastUrl(view.station, view.threshold),
          valueForecastUrl('max_temp', view.station),
          historyUrl(view.station),
        ]),
    qualityUrl('location', view.threshold),
    qualityUrl('season', view.threshold),
    weeklyUrl(view.latestDate, view.threshold),
  ];
}
