/** The stations of the feature set with the dates of their latest forecast and history. */
import type { FastifyInstance } from 'fastify';
import type { ForecastService } from '../services/forecasts.ts';
import { jsonSchemaOf, locationsSchema } from '../schemas.ts';

export async function locationRoutes(
  app: FastifyInstance,
  options: { forecasts: ForecastService },
): Promise<void> {
  app.get(
    '/locations',
    {
      schema: {
        summary: 'Known stations and the date of their latest forecast',
        tags: ['forecasts'],
        response: { 200: jsonSchemaOf(locationsSchema, 'output') },
      },
    },
    () => options.forecasts.locations(),
  );
}
