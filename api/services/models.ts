/**
 * The model registry as the API shows it: trained versions newest first (metadata only: artifacts can be
 * megabytes), the alias history, one version in detail, and where the champion alias points, with what
 * this process is actually serving.
 */
import type { ChampionSource } from '../../lib/models/champion.ts';
import type { SqlRunner } from '../../lib/platform/clickhouse/client.ts';
import { aliasHistory, currentAlias, listModels, type Alias } from '../../lib/models/registry.ts';
import { modelOfAlias, modelSummary } from '../../lib/platform/clickhouse/queries/models-view.ts';
import { ApiError } from '../errors.ts';
import type { ChampionBody, ModelDetailBody, ModelsBody } from '../schemas.ts';
import { NO_CACHE } from './analytics.ts';
import type { ResultCache } from './result-cache.ts';

const ALIASES: readonly Alias[] = ['champion', 'challenger'];
const HISTORY = 50;

export interface ModelService {
  list(limit: number): Promise<ModelsBody>;
  detail(version: string): Promise<ModelDetailBody>;
  champion(): Promise<ChampionBody>;
}

export function createModelService(
  clickhouse: SqlRunner,
  champions: ChampionSource,
  cache: Pick<ResultCache, 'get'> = NO_CACHE,
): ModelService {
  return {
    list: (limit) => cache.get(`models ${limit}`, () => listBody(limit)),
    detail: (version) => cache.get(`model ${version}`, () => detailBody(version)),
    async champion() {
      const [alias, model] = await cache.get('champion', () =>
        Promise.all([currentAlias(clickhouse, 'champion'), modelOfAlias(clickhouse, 'champion')]),
      );
      return championBody(alias, model);
    },
  };

  async function listBody(limit: number): Promise<ModelsBody> {
    const [models, championHistory, challengerHistory, ...aliases] = await Promise.all([
      listModels(clickhouse, limit),
      aliasHistory(clickhouse, 'champion', HISTORY),
      aliasHistory(clickhouse, 'challenger', HISTORY),
      ...ALIASES.map((a) => currentAlias(clickhouse, a)),
    ]);
    return {
      models: models.map((m) => ({
        ...m,
        aliases: aliases.filter((a) => a !== null && a.version === m.version).map((a) => a!.alias),
      })),
      history: { champion: championHistory, challenger: challengerHistory },
    };
  }

  async function detailBody(version: string): Promise<ModelDetailBody> {
    const [model, ...rest] = await Promise.all([
      modelSummary(clickhouse, version),
      ...ALIASES.map((a) => currentAlias(clickhouse, a)),
      ...ALIASES.map((a) => aliasHistory(clickhouse, a, HISTORY)),
    ]);
    if (model === null)
      throw new ApiError(404, 'MODEL_NOT_FOUND', `no model version ${version} in the registry`);
    const current = rest.slice(0, ALIASES.length) as Awaited<ReturnType<typeof currentAlias>>[];
    const histories = rest.slice(ALIASES.length) as Awaited<ReturnType<typeof aliasHistory>>[];
    return {
      model,
      aliases: current.filter((a) => a !== null && a.version === version).map((a) => a!.alias),
      history: histories
        .flat()
        .filter((h) => h.version === version || h.previousVersion === version)
        .sort((a, b) => (a.changedAt < b.changedAt ? 1 : a.changedAt > b.changedAt ? -1 : 0)),
    };
  }

  /** The registry's champion (cached with the data) beside the one this process serves (in memory). */
  function championBody(
    alias: Awaited<ReturnType<typeof currentAlias>>,
    model: Awaited<ReturnType<typeof modelOfAlias>>,
  ): ChampionBody {
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
  }
}
