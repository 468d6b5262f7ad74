/** The stations of the feature set with the dates of their latest forecast and history. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { ForecastService } from '../services/forecasts.ts';
import { locationsSchema } from '../schemas.ts';

export async function locationRoutes(
  fastify: FastifyInstance,
  options: { forecasts: ForecastService },
): Promise<void> {
  fastify.withTypeProvider<ZodTypeProvider>().get(
    '/locations',
    {
      schema: {
        summary: 'Known stations and the date of their latest forecast',
        tags: ['forecasts'],
        response: { 200: locationsSchema },
      },
    },
    () => options.forecasts.locations(),
  );
}
