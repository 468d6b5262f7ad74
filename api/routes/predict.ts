/** The forecast routes: the latest forecast of a station, and a forecast from a posted observation. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { observationBodySchema } from '../observation-body.ts';
import { isKnownStation, noForecastReason, type ForecastService } from '../services/forecasts.ts';
import type { PredictService } from '../services/predict.ts';
import { ApiError } from '../errors.ts';
import {
  errorSchema,
  latestForecastSchema,
  latestValueForecastSchema,
  postPredictQuerySchema,
  predictQuerySchema,
  predictionResultSchema,
  valuePredictionResultSchema,
} from '../schemas.ts';

export interface PredictRoutesOptions {
  forecasts: ForecastService;
  predictions: PredictService;
}

export async function predictRoutes(fastify: FastifyInstance, options: PredictRoutesOptions): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { forecasts, predictions } = options;

  app.get(
    '/predict',
    {
      schema: {
        summary: 'The latest forecast of a station, for a task',
        description:
          'What the streaming predictor last forecast for the station, from the observation of `date`: with ' +
          '`task=rain` (default) rain on `forecastFor`, and with `threshold` the decision taken at that threshold ' +
          'instead of the predictor one; with `task=max_temp` the maximum temperature of `forecastFor` (°C).',
        tags: ['forecasts'],
        querystring: predictQuerySchema,
        response: {
          200: z.union([latestForecastSchema, latestValueForecastSchema]),
          400: errorSchema,
          404: errorSchema,
        },
      },
    },
    async (request, reply) => {
      const { location, threshold, task } = request.query;
      if (task !== 'rain' && threshold !== undefined) {
        throw new ApiError(400, 'VALIDATION', `applies to task rain only, not ${task}`, {
          field: 'threshold',
        });
      }
      const json =
        task === 'rain'
          ? await forecasts.latestJson(location)
          : await forecasts.latestValueJson(task, location);
      if (json === null) {
        const knownStation = isKnownStation(location, forecasts.stations);
        return reply.code(404).send({
          error: 'no forecast',
          // A name that is no station is the request's fault, and says so like every refusal.
          ...(!knownStation && { field: 'location' }),
          location,
          knownStation,
          reason: noForecastReason(location, forecasts.stations),
        });
      }
      // Without a threshold the stored JSON text is the body: a string with a JSON content type skips
      // serialization, and parsing it would cost more than the Redis round trip.
      if (threshold === undefined) return reply.type('application/json; charset=utf-8').send(json as never);
      return forecasts.atThreshold(json, threshold);
    },
  );

  app.post(
    '/predict',
    {
      schema: {
        summary: 'Forecast from an observation, for a task',
        description:
          "Computes the features of the observation with the station's history (read only; the stream's state is " +
          "not changed) and the task's champion of the moment: rain's probability (default), or with " +
          '`task=max_temp` the maximum temperature of the next day. When the history already holds that date or a ' +
          'later one, only the days strictly before the date are used.',
        tags: ['forecasts'],
        querystring: postPredictQuerySchema,
        body: observationBodySchema,
        response: {
          200: z.union([predictionResultSchema, valuePredictionResultSchema]),
          400: errorSchema,
          503: errorSchema,
        },
      },
    },
    (request) => predictions.predict(request.body, request.query.threshold, request.query.task),
  );
}
