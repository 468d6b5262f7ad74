/**
 * The dashboard: one HTML page, its script and stylesheet (api/public/, no build step) and uPlot, served
 * from the package installed with npm (no CDN: machines may be offline). Everything the page shows it
 * reads from this API's own routes; the CSP of the app (self only, no inline script or style) holds.
 *
 * The page names the requests of its first view as preloads (first-view.js, the module the page builds
 * its URLs with): the browser fetches them beside the scripts, and the page finds the answers there or on
 * their way when it runs, instead of asking only then, and for the station's after /locations answered.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { firstView, firstViewUrls, OVERVIEW_URLS } from '../public/first-view.js';
import type { ForecastService } from '../services/forecasts.ts';

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const VENDOR_FILES = new Set(['/uPlot.iife.min.js', '/uPlot.min.css']);
const PRELOADS_MARKER = /^ *<!-- preloads:.*-->$/m;
/** How long the page waits for the station list from Redis before it goes without the station's preloads. */
const FIRST_VIEW_WAIT_MS = 250;

const escapeAttribute = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

/** The page with `urls` as fetch preloads (same mode and credentials as the page's own fetch calls). */
export function pageWithPreloads(template: string, urls: readonly string[]): string {
  const links = urls
    .map((u) => `    <link rel="preload" href="${escapeAttribute(u)}" as="fetch" crossorigin="anonymous" />`)
    .join('\n');
  return template.replace(PRELOADS_MARKER, () => links);
}

export async function dashboardRoutes(
  app: FastifyInstance,
  options: { forecasts: Pick<ForecastService, 'locations'> },
): Promise<void> {
  const template = readFileSync(`${PUBLIC_DIR}index.html`, 'utf8');
  if (!PRELOADS_MARKER.test(template)) throw new Error('api/public/index.html has lost its preloads marker');
  /** The first view's requests, or the overview's alone when the station list is not there in time. */
  const preloads = async (): Promise<readonly string[]> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<null>(
      (resolve) => (timer = setTimeout(() => resolve(null), FIRST_VIEW_WAIT_MS)),
    );
    const listed = options.forecasts.locations().catch(() => null);
    try {
      const body = await Promise.race([listed, late]);
      return body === null ? OVERVIEW_URLS : firstViewUrls(firstView(body.locations));
    } finally {
      clearTimeout(timer);
    }
  };
  await app.register(fastifyStatic, {
    root: PUBLIC_DIR,
    prefix: '/assets/',
    index: false,
    maxAge: 60_000,
    schemaHide: true,
  });
  await app.register(fastifyStatic, {
    root: UPLOT_DIR,
    prefix: '/assets/vendor/',
    decorateReply: false,
    index: false,
    maxAge: 3_600_000,
    immutable: true,
    schemaHide: true,
    allowedPath: (path) => VENDOR_FILES.has(path),
  });
  app.get(
    '/',
    { schema: { summary: 'The dashboard (HTML)', tags: ['dashboard'], produces: ['text/html'] } },
    async (_request, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(pageWithPreloads(template, await preloads())),
  );
}
