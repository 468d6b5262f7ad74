import importX from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

/**
 * Imports point down. The layers, lowest first:
 *   lib/platform (config, errors, log, retry, kafka, schema registry, clickhouse, redis, metrics, cli)
 *   lib/ml (the model engine)          lib/domain (weather, time, features, events)
 *   lib/models (registry, champion)    lib/deployment (setup, drain, summary, teardown)
 *   consumers/shell, consumers/<stage>, consumers/host      producers/, api/      ops/
 * `lib` imports nothing above it; api/ and producers/ may use a stage's pure step (`step.ts`) or its row
 * mappings, never its shell; nothing outside ops/ imports ops/; no cycles anywhere.
 */
const ABOVE_LIB = ['consumers', 'producers', 'api', 'ops', 'bench', 'test'].map((d) => `./${d}`);
const zone = (target, from, message) => ({ target, from, message });

export default tseslint.config(
  { ignores: ['node_modules/**', '.state/**', 'coverage/**', 'api/public/vendor/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver': { node: { extensions: ['.ts', '.js'] } },
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts'] },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        {
          object: 'process',
          property: 'env',
          message: 'Read configuration through lib/platform/config.ts only.',
        },
      ],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            zone('./lib', ABOVE_LIB, 'lib/ imports nothing above it.'),
            zone(
              './lib/platform',
              ['./lib/ml', './lib/domain', './lib/models', './lib/deployment'],
              'platform code knows no domain, model engine or registry.',
            ),
            zone(
              './lib/ml',
              ['./lib/domain', './lib/models', './lib/deployment'],
              'the model engine knows no weather: it takes datasets.',
            ),
            zone('./lib/domain', ['./lib/models', './lib/deployment'], 'the domain sits below the registry.'),
            zone('./lib/models', ['./lib/deployment'], 'the registry sits below deployment tooling.'),
            zone(
              ['./api', './producers'],
              ['./consumers/*/shell.ts', './consumers/shell/**', './consumers/host/**'],
              "api/ and producers/ may use a stage's pure step, never its shell.",
            ),
            zone(
              ['./lib', './consumers', './producers', './api', './bench', './test'],
              ['./ops'],
              'nothing outside ops/ imports ops/.',
            ),
          ],
        },
      ],
    },
  },
  {
    files: ['lib/platform/config.ts', 'test/**', 'bench/**', 'ops/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
