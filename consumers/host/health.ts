/**
 * The pipeline process's own small HTTP endpoint: `GET /health` (the process is alive and its event loop
 * answers) and `GET /ready` (every component works: 200, else 503 with what each one waits for). A
 * stage waiting out an outage is alive but not ready. Plain node:http, so it adds nothing to a process
 * that may host one stage only; more routes (metrics) go in `routes`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Health } from '../../lib/platform/health.ts';
import type { Logger } from '../../lib/platform/log.ts';

export type Route = (request: IncomingMessage, response: ServerResponse) => void | Promise<void>;

export interface HealthServer {
  readonly port: number;
  close(): Promise<void>;
}

export async function startHealthServer(options: {
  health: Health;
  port: number;
  host?: string;
  logger: Logger;
  /** Extra GET routes by path, e.g. `/metrics`. */
  routes?: Readonly<Record<string, Route>>;
}): Promise<HealthServer> {
  const { health, logger } = options;
  const startedAt = Date.now();
  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
  };
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]!;
    if (request.method !== 'GET') return json(response, 405, { error: 'GET only' });
    if (path === '/health')
      return json(response, 200, { status: 'alive', uptimeS: (Date.now() - startedAt) / 1000 });
    if (path === '/ready') {
      const snapshot = health.snapshot();
      return json(response, snapshot.ready ? 200 : 503, {
        status: snapshot.ready ? 'ready' : 'waiting',
        ...snapshot,
      });
    }
    const route = options.routes?.[path];
    if (route) {
      return void Promise.resolve(route(request, response)).catch((error: unknown) => {
        logger.error({ err: error, path }, 'health server route failed');
        if (!response.headersSent) json(response, 500, { error: 'internal error' });
      });
    }
    json(response, 404, { error: 'not found' });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port }, 'health endpoint listening (/health, /ready)');
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
