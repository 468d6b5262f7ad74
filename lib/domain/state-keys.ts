/**
 * Redis key layout, in one place so the stages that write and the API that reads agree. Every key is
 * `<prefix>:<kind>:<location>`; values are JSON. All of it can be rebuilt from the Kafka log.
 */
export const STATE_KEYS = {
  /** Features stage: the station's recent days (StationState). */
  station: (location: string) => ['station', location] as const,
  /** Predictor: the latest forecast of the station (LatestForecast). */
  latest: (location: string) => ['latest', location] as const,
  /** Label join: the prediction waiting for its next day (JoinState entry). */
  pendingLabel: (location: string) => ['pending-label', location] as const,
  /** Drift stage: one source partition's open weeks (a hash: offset, state). */
  driftPartition: (source: string, partition: number) => ['drift', 'partition', source, partition] as const,
  /** Drift stage: the week closer's state (a hash: offset, state). */
  driftCloser: () => ['drift', 'closer'] as const,
  /** Drift stage: partials of one side and week waiting for the week to close (a hash per partition). */
  driftPending: (side: string, week: string) => ['drift', 'pending', side, week] as const,
  /** Set once the drift state reflects the log, so an empty Redis is noticed. */
  driftBuilt: () => ['drift', 'built'] as const,
  /** Set by the features stage once its state reflects the log, so an empty Redis is noticed. */
  featuresBuilt: () => ['features', 'built'] as const,
} as const;

/** What `GET /predict?location=` serves: the prediction without its feature values. */
export interface LatestForecast {
  location: string;
  /** Day of the observation the forecast was made from. */
  date: string;
  /** The day the forecast is about (date + 1). */
  forecastFor: string;
  probability: number;
  decision: boolean;
  threshold: number;
  modelVersion: string;
  featureSetVersion: string;
  predictedAt: number;
}
