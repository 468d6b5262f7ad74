/**
 * The model registry as the API shows it: trained versions newest first (metadata only: artifacts can be
 * megabytes) and where the champion alias points, with what this process is actually serving.
 */
import type { ChampionSource } from '../../lib/models/champion.ts';
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { currentAlias, listModels, type Alias } from '../../lib/models/registry.ts';
import type { ChampionBody, ModelsBody } from '../schemas.ts';
import { modelOfAlias } from '../../lib/platform/clickhouse/queries/models.ts';

const ALIASES: readonly Alias[] = ['champion', 'challenger'];

export interface ModelService {
  list(limit: number): Promise<ModelsBody>;
  champion(): Promise<ChampionBody>;
}

export function createModelService(clickhouse: SqlRunner, champions: ChampionSource): ModelService {
  return {
    async list(limit) {
      const [models, ...aliases] = await Promise.all([
        listModels(clickhouse, limit),
        ...ALIASES.map((a) => currentAlias(clickhouse, a)),
      ]);
      return {
        models: models.map((m) => ({
          ...m,
          aliases: aliases.filter((a) => a !== null && a.version === m.version).map((a) => a!.alias),
        })),
      };
    },
    async champion() {
      const [alias, model] = await Promise.all([
        currentAlias(clickhouse, 'champion'),
        modelOfAlias(clickhouse, 'champion'),
      ]);
      const serving = champions.current();
      const servingView = {
        version: serving.version,
        family: serving.family,
        featureSetVersion: serving.featureSetVersion,
        trainedUntil: serving.trainedUntil,
      };
      if (alias === null) {
        return {
          source: 'prior',
          version: null,
          reason: 'no model has been promoted yet: the prior climatology baseline is serving',
          changedAt: null,
          previousVersion: null,
          model: null,
          serving: servingView,
        };
      }
      return {
        source: 'registry',
        version: alias.version,
        reason: alias.reason,
        changedAt: alias.changedAt,
        previousVersion: alias.previousVersion === '' ? null : alias.previousVersion,
        model,
        serving: servingView,
      };
    },
  };
}
