/** The forecast routes: the latest forecast of a station, and a forecast from a posted observation. */
import type { FastifyInstance } from 'fastify';
import { isKnownStation, noForecastReason, type ForecastService } from '../services/forecasts.ts';
import type { PredictService } from '../services/predict.ts';
import {
  errorSchema,
  jsonSchemaOf,
  latestForecastSchema,
  observationBodySchema,
  predictQuerySchema,
  predictionResultSchema,
  type ObservationBody,
  type PredictQuery,
} from '../schemas.ts';

const errorBody = jsonSchemaOf(errorSchema, 'output');

const getSchema = {
  summary: 'The latest forecast of a station',
  description:
    'What the streaming predictor last forecast for the station: rain on `forecastFor`, from the observation of `date`.',
  tags: ['forecasts'],
  querystring: jsonSchemaOf(predictQuerySchema, 'input'),
  response: { 200: jsonSchemaOf(latestForecastSchema, 'output'), 400: errorBody, 404: errorBody },
};

const postSchema = {
  summary: 'Forecast from an observation',
  description:
    "Computes the features of the observation with the station's history (read only; the stream's state is " +
    'not changed) and the champion of the moment. When the history already holds that date or a later one, ' +
    'only the days strictly before the date are used.',
  tags: ['forecasts'],
  body: jsonSchemaOf(observationBodySchema, 'input'),
  response: { 200: jsonSchemaOf(predictionResultSchema, 'output'), 400: errorBody, 503: errorBody },
};

export interface PredictRoutesOptions {
  forecasts: ForecastService;
  predictions: PredictService;
}

export async function predictRoutes(app: FastifyInstance, options: PredictRoutesOptions): Promise<void> {
  const { forecasts, predictions } = options;

  app.get<{ Querystring: PredictQuery }>('/predict', { schema: getSchema }, async (request, reply) => {
    const { location } = request.query;
    const json = await forecasts.latestJson(location);
    if (json === null) {
      return reply.code(404).send({
        error: 'no forecast',
        location,
        knownStation: isKnownStation(location, forecasts.stations),
        reason: noForecastReason(location, forecasts.stations),
      });
    }
    // The stored JSON text is the body: a string with a JSON content type skips serialization.
    return reply.header('content-type', 'application/json; charset=utf-8').send(json);
  });

  app.post<{ Body: ObservationBody }>('/predict', { schema: postSchema }, (request) =>
    predictions.predict(request.body),
  );
}
