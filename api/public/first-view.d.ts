// Types of first-view.js (plain JavaScript: the browser loads it as is) for the server that imports it.
export interface FirstViewLocation {
  location: string;
  forecastDate: string | null;
  threshold: number | null;
}
export interface FirstView {
  station: string | null;
  threshold: number;
  latestDate: string | null;
}
export const DEFAULT_THRESHOLD: number;
export const OVERVIEW_URLS: readonly string[];
export function firstView(
  locations: readonly FirstViewLocation[],
  wanted?: { station: string | null; threshold: number | null },
): FirstView;
export function forecastUrl(station: string, threshold: number): string;
export function valueForecastUrl(task: string, station: string): string;
export function historyUrl(station: string): string;
export function qualityUrl(groupBy: string, threshold: number): string;
export function weeklyUrl(latestDate: string | null, threshold: number): string;
export function firstViewUrls(view: FirstView): string[];
