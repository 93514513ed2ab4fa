import fs from 'node:fs';
import path from 'node:path';

/**
 * The project's shared data set: `INSIGHTER_TEST_GERMAN_CREDIT`, else
 * `shared/` beside the repository (where CI puts it), else the workstation's.
 */
export const GERMAN_CREDIT =
  [
    process.env.INSIGHTER_TEST_GERMAN_CREDIT,
    path.resolve(__dirname, '../../../../shared/data/german_credit.csv'),
    '/work/shared/data/german_credit.csv'
  ].find((file): file is string => !!file && fs.existsSync(file)) ??
  '/work/shared/data/german_credit.csv';
