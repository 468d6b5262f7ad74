/**
 * The dashboard: one HTML page, its script and stylesheet (api/public/, no build step) and uPlot, served
 * from the package installed with npm (no CDN: machines may be offline). Everything the page shows it
 * reads from this API's own routes; the CSP of the app (self only, no inline script or style) holds.
 */
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'));
const VENDOR_FILES = new Set(['/uPlot.iife.min.js', '/uPlot.min.css']);

export async function dashboardRoutes(app: FastifyInstance): Promise<void> {
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
    (_request, reply) => reply.sendFile('index.html', PUBLIC_DIR, { maxAge: 0 }),
  );
}
