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
import { TASKS, type TaskDeclaration, type TaskName } from '../../lib/models/tasks.ts';
import type { ResultCache } from './result-cache.ts';

const ALIASES: readonly Alias[] = ['champion', 'challenger'];
const HISTORY = 50;

export interface ModelService {
  /** `task`: only that task's models (default: every task's). */
  list(limit: number, task?: string): Promise<ModelsBody>;
  detail(version: string): Promise<ModelDetailBody>;
  /** Where the task's champion alias points (default rain). */
  champion(task?: TaskName): Promise<ChampionBody>;
}

export function createModelService(
  clickhouse: SqlRunner,
  champions: ChampionSource,
  cache: Pick<ResultCache, 'get'> = NO_CACHE,
): ModelService {
  return {
    list: (limit, task) => cache.get(`models ${limit} ${task ?? '*'}`, () => listBody(limit, task)),
    detail: (version) => cache.get(`model ${version}`, () => detailBody(version)),
    async champion(taskName = 'rain') {
      const task = TASKS[taskName];
      const alias = task.championAlias as Alias;
      const [current, model] = await cache.get(`champion ${taskName}`, () =>
        Promise.all([currentAlias(clickhouse, alias), modelOfAlias(clickhouse, alias)]),
      );
      return championBody(task, current, model);
    },
  };

  async function listBody(limit: number, task?: string): Promise<ModelsBody> {
    const [models, championHistory, challengerHistory, ...aliases] = await Promise.all([
      listModels(clickhouse, limit, task),
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
      throw new ApiError(404, 'MODEL_NOT_FOUND', `no model version ${version} in the registry`, {
        field: 'version',
      });
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
    task: TaskDeclaration,
    alias: Awaited<ReturnType<typeof currentAlias>>,
    model: Awaited<ReturnType<typeof modelOfAlias>>,
  ): ChampionBody {
    const serving = champions.current();
    // This process predicts rain itself (POST /predict); another task's forecasts come from the pipeline.
    const servingView =
      task.name === 'rain'
        ? {
            version: serving.version,
            family: serving.family,
            featureSetVersion: serving.featureSetVersion,
            trainedUntil: serving.trainedUntil,
          }
        : null;
    const named = { task: task.name, alias: task.championAlias };
    if (alias === null) {
      return {
        source: 'prior',
        ...named,
        version: null,
        reason: `no model has been promoted yet: the prior ${task.type === 'classification' ? 'climatology' : 'persistence'} baseline (${task.priorVersion}) is serving`,
        changedAt: null,
        previousVersion: null,
        model: null,
        serving: servingView,
      };
    }
    return {
      source: 'registry',
      ...named,
      version: alias.version,
      reason: alias.reason,
      changedAt: alias.changedAt,
      previousVersion: alias.previousVersion === '' ? null : alias.previousVersion,
      model,
      serving: servingView,
    };
  }
}
