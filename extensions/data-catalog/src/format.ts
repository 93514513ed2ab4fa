import type { TranslationBundle } from '@jupyterlab/translation';
import type { DatasetStatus, DatasetValue, IDatasetColumn } from './tokens';

const BYTE_UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

/** `1.2 MB`: decimal units, as file managers show sizes. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** `1,000`, in the page's locale; an unknown count is a dash. */
export function formatCount(count: number | null | undefined): string {
  return typeof count === 'number' ? count.toLocaleString() : '–';
}

const statistic = new Intl.NumberFormat(undefined, {
  maximumSignificantDigits: 4
});

/**
 * A statistic as a table cell shows it: numbers to four significant
 * digits, booleans as pandas prints them, text as it is.
 */
export function formatValue(value: DatasetValue | undefined): string {
  if (value === null || value === undefined) {
    return '–';
  }
  if (typeof value === 'boolean') {
    return formatBoolean(value);
  }
  if (typeof value === 'number') {
    return Number.isInteger(value) && Math.abs(value) < 1e15
      ? value.toLocaleString()
      : statistic.format(value);
  }
  return String(value);
}

/**
 * A boolean as pandas (and Python) print it, so the catalog reads as the
 * notebook does: `True`, `False`.
 */
export function formatBoolean(value: boolean): string {
  return value ? 'True' : 'False';
}

/**
 * A preview cell: the value as pandas reads it from the file (a number
 * for "007", a boolean for "true"), printed as pandas prints it.
 */
export function formatCell(value: Exclude<DatasetValue, null>): string {
  return typeof value === 'boolean' ? formatBoolean(value) : String(value);
}

/** Whether the profiler treated the column as numeric (it then has a histogram and quartiles). */
export function isNumeric(column: IDatasetColumn): boolean {
  return column.histogram.length > 0 || column.mean !== null;
}

/** A status as the table shows it. */
export function statusLabel(
  status: DatasetStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'uploading':
      return trans.__('Uploading');
    case 'validating':
      return trans.__('Validating');
    case 'ready':
      return trans.__('Ready');
    case 'failed':
      return trans.__('Failed');
  }
}
