export * from './validator';
export * from './validate-file';
export * from './parquet-footer';
export { detectDelimiter } from './delimiter';
export * from './threaded-validator';
