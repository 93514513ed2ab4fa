import { formatCell, formatValue } from '../src/format';

describe('values as the catalog shows them', () => {
  it('prints booleans as pandas does, in statistics, top values and the preview', () => {
    expect(formatValue(true)).toBe('True');
    expect(formatValue(false)).toBe('False');
    expect(formatCell(true)).toBe('True');
    expect(formatCell(false)).toBe('False');
  });

  it('shows text as written and numbers as read (a "007" in an integer column is 7)', () => {
    expect(formatCell('no')).toBe('no');
    expect(formatCell('2024-01-05')).toBe('2024-01-05');
    expect(formatCell(7)).toBe('7');
    expect(formatCell(12.5)).toBe('12.5');
    expect(formatCell('inf')).toBe('inf');
    expect(formatValue(3271.258)).toBe((3271).toLocaleString());
  });
});
