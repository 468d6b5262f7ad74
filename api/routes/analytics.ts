/** What the store knows: a station's forecast history, the quality report, drift, prequential scores. */
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { StationRegistry } from '../../lib/domain/stations.ts';
import { ApiError } from '../errors.ts';
import type { AnalyticsService } from '../services/analytics.ts';
import {
  driftQuerySchema,
  driftSchema,
  errorSchema,
  predictionsQuerySchema,
  predictionsSchema,
  prequentialQuerySchema,
  prequentialSchema,
  qualityQuerySchema,
  qualitySchema,
  regressionQualitySchema,
} from '../schemas.ts';
import { z } from 'zod';

export async function analyticsRoutes(
  fastify: FastifyInstance,
  options: { analytics: AnalyticsService; stations: StationRegistry },
): Promise<void> {
  const app = fastify.withTypeProvider<ZodTypeProvider>();
  const { analytics, stations } = options;
  // A name that is no station (a typo, another case) would get an empty history or empty scores, which
  // reads as "no data yet": refused instead, naming the station meant when there is one.
  const knownLocation = async (request: { query: { location?: string } }) => {
    const location = request.query.location;
    if (location === undefined) return;
    const issue = stations.check(location);
    if (issue !== null) throw new ApiError(404, 'NOT_FOUND', issue.reason, { field: 'location' });
  };
  app.get(
    '/predictions',
    {
      schema: {
        summary: "A station's forecasts with their outcomes where joined",
        description: 'Default range: the 90 days up to the station latest forecast.',
        tags: ['quality'],
        querystring: predictionsQuerySchema,
        response: { 200: predictionsSchema, 400: errorSchema, 404: errorSchema },
      },
      preHandler: knownLocation,
    },
    (request) => analytics.predictions(request.query),
  );
  app.get(
    '/quality',
    {
      schema: {
        summary: 'Forecast quality of a task by station, season, month, week, model or year',
        description:
          'Over every prediction whose outcome joined (prequential). Task rain (default): accuracy, precision, ' +
          'recall and F1 at `threshold`, ROC AUC, PR AUC (average precision), Brier score, confusion counts and 10 ' +
          'calibration bins. Task max_temp: R², RMSE and MAE of the forecast maximum temperature (°C).',
        tags: ['quality'],
        querystring: qualityQuerySchema,
        response: {
          200: z.union([qualitySchema, regressionQualitySchema]),
          400: errorSchema,
          404: errorSchema,
        },
      },
      preHandler: knownLocation,
    },
    (request) => analytics.quality(request.query),
  );
  app.get(
    '/drift',
    {
      schema: {
        summary: 'Drift incidents and weekly drift statistics',
        tags: ['quality'],
        querystring: driftQuerySchema,
        response: { 200: driftSchema, 400: errorSchema },
      },
    },
    (request) => analytics.drift(request.query),
  );
  app.get(
    '/metrics/prequential',
    {
      schema: {
        summary: 'Prequential scores by overall, location, year, season, week or model',
        tags: ['quality'],
        querystring: prequentialQuerySchema,
        response: { 200: prequentialSchema, 400: errorSchema, 404: errorSchema },
      },
      preHandler: knownLocation,
    },
    (request) => analytics.prequential(request.query),
  );
}
