/**
 * Redis key layout, in one place so the stages that write and the API that reads agree. Every key is
 * `<prefix>:<kind>:<location>`; values are JSON. All of it can be rebuilt from the Kafka log.
 */
export const STATE_KEYS = {
  /** Features stage: the station's recent days (StationState). */
  station: (location: string) => ['station', location] as const,
  /** Predictor: the latest rain forecast of the station (LatestForecast). */
  latest: (location: string) => ['latest', location] as const,
  /** Predictor: the latest forecast of a regression task at the station (LatestValueForecast). */
  latestOf: (task: string, location: string) => ['forecast', task, location] as const,
  /** Label join: rain's prediction waiting for its next day (JoinState entry). */
  pendingLabel: (location: string) => ['pending-label', location] as const,
  /** Label join: another task's prediction waiting for its next day. */
  pendingLabelOf: (task: string, location: string) =>
    task === 'rain' ? (['pending-label', location] as const) : (['pending-label', task, location] as const),
  /**
   * Drift stage, per task (rain's keys are those from before tasks): one source partition's open weeks
   * (a hash: offset, state).
   */
  driftPartition: (task: string, source: string, partition: number) =>
    task === 'rain'
      ? (['drift', 'partition', source, partition] as const)
      : (['drift', task, 'partition', source, partition] as const),
  /** Drift stage: a task's week closer state (a hash: offset, state). */
  driftCloser: (task: string) =>
    task === 'rain' ? (['drift', 'closer'] as const) : (['drift', task, 'closer'] as const),
  /** Drift stage: a task's partials of one side and week waiting for the week to close (a hash per partition). */
  driftPending: (task: string, side: string, week: string) =>
    task === 'rain'
      ? (['drift', 'pending', side, week] as const)
      : (['drift', task, 'pending', side, week] as const),
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

/** What `GET /predict?task=max_temp&location=` serves: a regression task's latest forecast. */
export interface LatestValueForecast {
  task: string;
  location: string;
  /** Day of the observation the forecast was made from. */
  date: string;
  /** The day the forecast is about (date + 1). */
  forecastFor: string;
  /** The forecast value (°C for max_temp). */
  value: number;
  unit: string;
  modelVersion: string;
  featureSetVersion: string;
  predictedAt: number;
}
