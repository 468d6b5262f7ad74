/**
 * The domain event every stage starts from: one station's observations for one day.
 * Measurements are nullable: a missing reading is `null`, never 0.
 */
export interface Observation {
  location: string;
  /** Calendar day of the observation, `YYYY-MM-DD` (station local time). */
  date: string;
  minTemp: number | null;
  maxTemp: number | null;
  rainfall: number | null;
  evaporation: number | null;
  sunshine: number | null;
  windGustDir: CompassPoint | null;
  windGustSpeed: number | null;
  windDir9am: CompassPoint | null;
  windDir3pm: CompassPoint | null;
  windSpeed9am: number | null;
  windSpeed3pm: number | null;
  humidity9am: number | null;
  humidity3pm: number | null;
  pressure9am: number | null;
  pressure3pm: number | null;
  cloud9am: number | null;
  cloud3pm: number | null;
  temp9am: number | null;
  temp3pm: number | null;
  /** Rainfall > 1 mm on this day (the Bureau's definition); this is the label of the previous day. */
  rainToday: boolean | null;
  /** Where the event came from: `weatherAUS` replay or `open-meteo` ingestion. */
  source: string;
  /** Where it was read: `file:<name>:<line>`, `<raw-topic>:<partition>:<offset>`; null before schema v2. */
  sourcePosition?: string | null;
}

export const COMPASS_POINTS = [
  'N',
  'NNE',
  'NE',
  'ENE',
  'E',
  'ESE',
  'SE',
  'SSE',
  'S',
  'SSW',
  'SW',
  'WSW',
  'W',
  'WNW',
  'NW',
  'NNW',
] as const;
export type CompassPoint = (typeof COMPASS_POINTS)[number];

/**
 * Numeric measurement fields with the physical range a valid reading must fall in, its unit, and whether
 * it is a whole number. Cloud cover is in oktas, eighths of the sky, 0 to 8, and 9 for "sky obscured"
 * (fog, smoke): the Bureau's code, which the data set uses (3 of its 145,460 rows), and always whole.
 */
export const NUMERIC_FIELDS = {
  minTemp: { column: 'MinTemp', min: -60, max: 60, unit: '°C', integer: false },
  maxTemp: { column: 'MaxTemp', min: -60, max: 60, unit: '°C', integer: false },
  rainfall: { column: 'Rainfall', min: 0, max: 1500, unit: 'mm', integer: false },
  evaporation: { column: 'Evaporation', min: 0, max: 300, unit: 'mm', integer: false },
  sunshine: { column: 'Sunshine', min: 0, max: 24, unit: 'h', integer: false },
  windGustSpeed: { column: 'WindGustSpeed', min: 0, max: 400, unit: 'km/h', integer: false },
  windSpeed9am: { column: 'WindSpeed9am', min: 0, max: 400, unit: 'km/h', integer: false },
  windSpeed3pm: { column: 'WindSpeed3pm', min: 0, max: 400, unit: 'km/h', integer: false },
  humidity9am: { column: 'Humidity9am', min: 0, max: 100, unit: '%', integer: false },
  humidity3pm: { column: 'Humidity3pm', min: 0, max: 100, unit: '%', integer: false },
  pressure9am: { column: 'Pressure9am', min: 850, max: 1100, unit: 'hPa', integer: false },
  pressure3pm: { column: 'Pressure3pm', min: 850, max: 1100, unit: 'hPa', integer: false },
  cloud9am: { column: 'Cloud9am', min: 0, max: 9, unit: 'oktas', integer: true },
  cloud3pm: { column: 'Cloud3pm', min: 0, max: 9, unit: 'oktas', integer: true },
  temp9am: { column: 'Temp9am', min: -60, max: 60, unit: '°C', integer: false },
  temp3pm: { column: 'Temp3pm', min: -60, max: 60, unit: '°C', integer: false },
} as const satisfies Record<
  string,
  { column: string; min: number; max: number; unit: string; integer: boolean }
>;
export type NumericField = keyof typeof NUMERIC_FIELDS;

export const DIRECTION_FIELDS = {
  windGustDir: 'WindGustDir',
  windDir9am: 'WindDir9am',
  windDir3pm: 'WindDir3pm',
} as const;
export type DirectionField = keyof typeof DIRECTION_FIELDS;

/** The speed each wind direction is the direction of. */
export const SPEED_OF_DIRECTION = {
  windGustDir: 'windGustSpeed',
  windDir9am: 'windSpeed9am',
  windDir3pm: 'windSpeed3pm',
} as const satisfies Record<DirectionField, NumericField>;
