/**
 * The champion as the online paths see it: a loaded model with the preprocessing it was trained with.
 * The predictor and the API hold a ChampionSource and ask it for `current()` on every use, so a promotion
 * takes effect without a restart.
 */
import type { ClipBounds } from '../domain/features/clipping.ts';
import type { Model } from '../ml/model.ts';

export interface Champion {
  version: string;
  family: string;
  featureSetVersion: string;
  model: Model;
  /** Outlier bounds learned at training time; null for models trained without clipping. */
  clip: ClipBounds | null;
  /** Last day of the training data; null for the prior baseline. */
  trainedUntil: string | null;
}

export interface ChampionSource {
  current(): Champion;
  close(): Promise<void>;
}

/** A source that always answers the same champion (the prior baseline, a benchmark's fixed model). */
export function fixedChampionSource(champion: Champion): ChampionSource {
  return { current: () => champion, close: async () => undefined };
}
