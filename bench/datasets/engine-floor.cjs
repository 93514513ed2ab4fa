// The least a DuckDB profile of the benchmark's CSV can cost on this
// machine: DuckDB reading every column of it (a count of each) with the
// types given, so nothing is spent on guessing them, on all cores.
//   node bench/datasets/engine-floor.cjs <file>
const os = require('node:os');
const { DuckDBInstance } = require('@duckdb/node-api');

const COLUMNS = {
  id: 'BIGINT',
  amount: 'DOUBLE',
  score: 'BIGINT',
  ratio: 'DOUBLE',
  city: 'VARCHAR',
  segment: 'VARCHAR',
  note: 'VARCHAR',
  day: 'DATE'
};
const quote = value => `'${value.replace(/'/g, "''")}'`;

async function main(file) {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(os.availableParallelism())
  });
  const connection = await instance.connect();
  const types = Object.entries(COLUMNS)
    .map(([name, type]) => `${quote(name)}: ${quote(type)}`)
    .join(', ');
  const counts = Object.keys(COLUMNS)
    .map(name => `count(${name})`)
    .join(', ');
  const reader = await connection.runAndReadAll(
    `SELECT count(*), ${counts} FROM read_csv(${quote(file)}, header = true, ` +
      `auto_detect = false, delim = ',', quote = '"', columns = {${types}})`
  );
  console.log(`rows ${reader.getRows()[0][0]}`);
}

main(process.argv[2]).catch(err => {
  console.error(err);
  process.exitCode = 1;
});
