/** The one feature implementation shared by training, the streaming stages and the API. */
export * from './feature-set.ts';
export * from './station-window.ts';
export * from './matrix.ts';
export * from './clipping.ts';
