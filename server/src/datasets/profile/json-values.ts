import type { Json } from '@duckdb/node-api';

const INTEGER_TYPES =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;

export function isNumericType(type: string): boolean {
  return (
    INTEGER_TYPES.test(type) ||
    /^(FLOAT|DOUBLE|REAL)$/.test(type) ||
    type.startsWith('DECIMAL')
  );
}

export function isTextType(type: string): boolean {
  return type === 'VARCHAR';
}

/**
 * One of DuckDB's JSON-form values made friendly for the dataset record:
 * big integers and decimals become numbers when exact enough (else stay
 * strings), timestamps become ISO 8601, NaN and infinities stay strings.
 */
export function toJsonValue(value: Json, type: string): Json {
  if (typeof value === 'string') {
    if (isNumericType(type)) {
      const number = Number(value);
      if (!Number.isFinite(number)) return value;
      if (INTEGER_TYPES.test(type) && !Number.isSafeInteger(number)) {
        return value;
      }
      return number;
    }
    if (type.startsWith('TIMESTAMP')) return value.replace(' ', 'T');
  }
  return value;
}
