/** The forecast routes: the latest forecast of a station, and a forecast from a posted observation. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { observationBodySchema } from '../observation-body.ts';
import { isKnownStation, noForecastReason, type ForecastService } from '../services/forecasts.ts';
import type { PredictService } from '../services/predict.ts';
import {
  errorSchema,
  latestForecastSchema,
  postPredictQuerySchema,
  predictQuerySchema,
  predictionResultSchema,
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
        summary: 'The latest forecast of a station',
        description:
          'What the streaming predictor last forecast for the station: rain on `forecastFor`, from the observation of ' +
          '`date`. With `threshold`, the decision is taken at that threshold instead of the predictor one.',
        tags: ['forecasts'],
        querystring: predictQuerySchema,
        response: { 200: latestForecastSchema, 400: errorSchema, 404: errorSchema },
      },
    },
    async (request, reply) => {
      const { location, threshold } = request.query;
      const json = await forecasts.latestJson(location);
      if (json === null) {
        return reply.code(404).send({
          error: 'no forecast',
          location,
          knownStation: isKnownStation(location, forecasts.stations),
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
        summary: 'Forecast from an observation',
        description:
          "Computes the features of the observation with the station's history (read only; the stream's state is " +
          'not changed) and the champion of the moment. When the history already holds that date or a later one, ' +
          'only the days strictly before the date are used.',
        tags: ['forecasts'],
        querystring: postPredictQuerySchema,
        body: observationBodySchema,
        response: { 200: predictionResultSchema, 400: errorSchema, 503: errorSchema },
      },
    },
    (request) => predictions.predict(request.body, request.query.threshold),
  );
}
