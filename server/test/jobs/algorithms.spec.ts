import { execFileSync } from 'node:child_process';
import {
  ALGORITHMS,
  resolveParams,
  type TrainAlgorithm
} from '../../src/jobs/algorithms';
import { PYTHON, TRAINING_PYTHON_DIR } from '../../src/jobs/training-package';

/**
 * The route and the script check hyperparameters against one table
 * (algorithms.json); a person must read the same sentence whichever caught
 * the mistake.
 */
const CASES: [TrainAlgorithm, Record<string, unknown>][] = [
  ['xgboost', {}],
  ['xgboost', { n_estimators: 0 }],
  ['xgboost', { n_estimators: 5001, max_depth: 2.5 }],
  ['xgboost', { learning_rate: 0, subsample: 1.01, colsample_bytree: -1 }],
  ['xgboost', { min_child_weight: -0.1, reg_lambda: 'much' }],
  ['xgboost', { depth: 3, n_estimators: true }],
  ['xgboost', { test_size: 1, random_state: -1 }],
  ['logistic_regression', { C: 0, max_iter: 100001 }],
  ['logistic_regression', { C: 2, max_iter: 50 }],
  ['random_forest', { max_depth: null }],
  ['random_forest', { max_depth: 0.5, min_samples_leaf: 0, n_estimators: null }]
];

describe('hyperparameter checks', () => {
  it('answer the same on the route (TypeScript) and in the script (Python)', () => {
    const python = JSON.parse(
      execFileSync(
        PYTHON,
        [
          '-c',
          [
            'import json, sys',
            'from insighter_train import TrainError',
            'from insighter_train.spec import resolve_params',
            'out = []',
            'for algorithm, given in json.loads(sys.argv[1]):',
            '    try:',
            '        out.append({"params": resolve_params(algorithm, given)})',
            '    except TrainError as err:',
            '        out.append({"message": err.message})',
            'print(json.dumps(out))'
          ].join('\n'),
          JSON.stringify(CASES)
        ],
        {
          env: {
            PATH: '/usr/bin:/bin',
            PYTHONPATH: TRAINING_PYTHON_DIR,
            PYTHONDONTWRITEBYTECODE: '1'
          }
        }
      ).toString()
    );
    const typescript = CASES.map(([algorithm, given]) => {
      const result = resolveParams(algorithm, given);
      return 'params' in result
        ? { params: result.params }
        : { message: result.problems.map(p => p.message).join(' ') };
    });
    expect(typescript).toEqual(python);
    expect(typescript[1]).toEqual({
      message: 'n_estimators must be a whole number from 1 to 5000.'
    });
    expect(typescript[9]).toEqual({
      params: {
        n_estimators: 100,
        max_depth: null,
        min_samples_leaf: 1,
        test_size: 0.2,
        random_state: 42
      }
    });
  });

  it('describe every algorithm with its tasks, and the common split parameters', () => {
    expect(ALGORITHMS.map(a => [a.id, a.tasks])).toEqual([
      ['xgboost', ['classification', 'regression']],
      ['logistic_regression', ['classification']],
      ['random_forest', ['classification', 'regression']]
    ]);
    for (const algorithm of ALGORITHMS) {
      expect(algorithm.params.slice(-2).map(p => p.name)).toEqual([
        'test_size',
        'random_state'
      ]);
      for (const param of algorithm.params) {
        expect(param.description).toMatch(/\.$/);
        expect(
          resolveParams(algorithm.id, { [param.name]: param.default })
        ).toHaveProperty('params');
      }
    }
  });
});
