import path from 'node:path';

/**
 * The training script: the Python package `insighter_train` shipped with the
 * server (server/python, beside src/ and lib/), run by Debian's Python with
 * pandas, scikit-learn and XGBoost. Its exit codes and error lines are a
 * contract with server/python/insighter_train/__init__.py.
 */
export const PYTHON = '/usr/bin/python3';
export const TRAIN_MODULE = 'insighter_train';

/** server/python, from src/jobs (ts-jest, tsx) and lib/jobs (built) alike. */
export const TRAINING_PYTHON_DIR = path.resolve(
  __dirname,
  '..',
  '..',
  'python'
);

export const TRAIN_COMMAND = [PYTHON, '-m', TRAIN_MODULE];

export const TrainExit = {
  ok: 0,
  crash: 1,
  badInput: 2,
  dataset: 3,
  tracking: 4,
  outOfMemory: 5
} as const;

/** The script's last word on stderr: `insighter_train: error: <reason>`. */
export const ERROR_PREFIX = 'insighter_train: error: ';

/** The reason the script gave for failing, from its stderr lines (the last one counts). */
export function scriptError(stderrLines: Iterable<string>): string | undefined {
  let reason: string | undefined;
  for (const line of stderrLines) {
    if (line.startsWith(ERROR_PREFIX)) {
      reason = line.slice(ERROR_PREFIX.length).trim();
    }
  }
  return reason || undefined;
}
