import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../../../../lib/domain/features/feature-set.ts';
import { FAMILIES } from '../../../../lib/ml/families.ts';
import { priorChampion } from '../../../../lib/models/champion.ts';
import {
  competingFamilies,
  TASK_NAMES,
  TASKS,
  TaskError,
  taskByName,
  taskOfAlias,
  taskOrDefault,
  tasksOf,
} from '../../../../lib/models/tasks.ts';
import { loadConfig } from '../../../../lib/platform/config.ts';

const values = (maxTemp: number) => FEATURE_NAMES.map((n) => (n === 'maxTemp' ? maxTemp : 0));

describe('task declarations', () => {
  it('declares every task the config knows, each with its own aliases and prior', () => {
    expect(Object.keys(TASKS).sort()).toEqual([...TASK_NAMES].sort());
    const aliases = Object.values(TASKS).flatMap((t) => [t.championAlias, t.challengerAlias]);
    expect(new Set(aliases).size).toBe(aliases.length);
    expect(TASKS.rain.championAlias).toBe('champion');
    expect(TASKS.max_temp.championAlias).toBe('max_temp.champion');
    for (const t of Object.values(TASKS)) {
      expect(taskOfAlias(t.championAlias)).toBe(t);
      expect(taskOfAlias(t.challengerAlias)).toBe(t);
      for (const f of t.families) expect(Object.hasOwn(FAMILIES, f.family), f.family).toBe(true);
      expect(priorChampion(t).version).toBe(t.priorVersion);
      expect(priorChampion(t).model.task).toBe(t.type);
    }
  });

  it('max_temp is a regression of ridge, forest and GBDT, gated at R² 0.7 and strictly above the champion', () => {
    const t = TASKS.max_temp;
    expect(t.type).toBe('regression');
    expect(t.families.map((f) => f.family).sort()).toEqual(['forest', 'gbdt', 'linreg']);
    expect(t.policy.minPrimary.regression).toBe(0.7);
    expect(t.policy.mustBeatChampion).toBe(true);
    expect(t.metrics).toEqual(['r2', 'rmse', 'mae']);
    // Warm starts everywhere: ridge adds the new rows' sums, the trees add or replace trees.
    expect(t.families.every((f) => f.refitEveryRun !== true)).toBe(true);
    expect(t.families.find((f) => f.family === 'gbdt')?.warm).toBeDefined();
    expect(t.families.find((f) => f.family === 'forest')?.warm).toBeDefined();
  });

  it('labels from the next day: rain from its RainToday, max_temp from its MaxTemp', () => {
    expect(TASKS.rain.label({ rainToday: true, values: [] })).toBe(1);
    expect(TASKS.rain.label({ rainToday: false, values: [] })).toBe(0);
    expect(TASKS.rain.label({ rainToday: null, values: [] })).toBeNull();
    expect(TASKS.max_temp.label({ rainToday: null, values: values(31.4) })).toBe(31.4);
    expect(TASKS.max_temp.label({ rainToday: true, values: values(NaN) })).toBeNull();
    expect(TASKS.max_temp.label({ rainToday: true, values: [] })).toBeNull();
  });

  it('names an unknown task with the known ones', () => {
    expect(() => taskByName('wind')).toThrow(TaskError);
    expect(() => taskByName('wind')).toThrow(/unknown task "wind"; known: rain, max_temp/);
    expect(tasksOf(['rain', 'max_temp']).map((t) => t.name)).toEqual(['rain', 'max_temp']);
    expect(taskOrDefault(undefined)).toBe('rain');
    expect(taskOrDefault('classification')).toBe('rain');
    expect(taskOrDefault('max_temp')).toBe('max_temp');
  });
});

describe('TASKS config', () => {
  it('defaults to rain and max_temp, rain first whatever the order given', () => {
    expect(loadConfig({}).pipeline.tasks).toEqual(['rain', 'max_temp']);
    expect(loadConfig({ TASKS: 'max_temp,rain' }).pipeline.tasks).toEqual(['rain', 'max_temp']);
    expect(loadConfig({ TASKS: 'rain' }).pipeline.tasks).toEqual(['rain']);
  });

  it('refuses an unknown task, a list without rain and a repeated task, naming TASKS', () => {
    expect(() => loadConfig({ TASKS: 'rain,wind' })).toThrow(/TASKS/);
    expect(() => loadConfig({ TASKS: 'max_temp' })).toThrow(/TASKS.*must include rain/);
    expect(() => loadConfig({ TASKS: 'rain,rain' })).toThrow(/TASKS.*must not repeat/);
  });
});

describe('RETRAIN_FAMILIES', () => {
  const names = (task: 'rain' | 'max_temp', env: Record<string, string> = {}) =>
    competingFamilies(TASKS[task], loadConfig(env).pipeline.retrainFamilies).map((c) => c.family);

  it('leaves the forest out of both tasks by default, and max_temp its ridge baseline in', () => {
    expect(names('rain')).toEqual(['climatology', 'logreg', 'gbdt']);
    expect(names('max_temp')).toEqual(['linreg', 'gbdt']);
  });

  it('adds the forest to every task that declares one when asked', () => {
    const env = { RETRAIN_FAMILIES: 'climatology,logreg,gbdt,forest' };
    expect(names('rain', env)).toContain('forest');
    expect(names('max_temp', env)).toEqual(['linreg', 'gbdt', 'forest']);
  });

  it('never leaves a task without a candidate, and refuses a family it does not know', () => {
    expect(names('max_temp', { RETRAIN_FAMILIES: 'climatology' })).toEqual(['linreg']);
    expect(() => loadConfig({ RETRAIN_FAMILIES: 'gbdt,xgboost' })).toThrow(/RETRAIN_FAMILIES/);
  });
});
