import * as React from 'react';
import { formatValue } from '../format';
import type { IHistogramBin, ITopValue } from '../tokens';

const WIDTH = 120;
const HEIGHT = 32;

/** A numeric column's distribution: one bar per bin, each with its range and count on hover. */
export function Histogram(props: {
  column: string;
  bins: readonly IHistogramBin[];
  label: string;
}): React.ReactElement {
  const { bins } = props;
  const highest = Math.max(1, ...bins.map(bin => bin.count));
  const barWidth = WIDTH / Math.max(1, bins.length);
  return (
    <svg
      className="jp-insighter-histogram"
      data-column={props.column}
      data-bins={bins.length}
      width={WIDTH}
      height={HEIGHT}
      viewBox={`0 0 ${WIDTH} ${HEIGHT}`}
      role="img"
      aria-label={props.label}
    >
      {bins.map((bin, i) => {
        // A bin with any rows stays visible beside one with thousands.
        const height = bin.count
          ? Math.max(1, (bin.count / highest) * HEIGHT)
          : 0;
        return (
          <rect
            key={i}
            className="jp-insighter-histogram-bar"
            x={i * barWidth + 0.5}
            y={HEIGHT - height}
            width={Math.max(1, barWidth - 1)}
            height={height}
          >
            <title>
              {`${formatValue(bin.lower)} – ${formatValue(bin.upper)}: ${bin.count.toLocaleString()}`}
            </title>
          </rect>
        );
      })}
    </svg>
  );
}

/** A text column's most frequent values, each with its share of the rows. */
export function TopValues(props: {
  column: string;
  values: readonly ITopValue[];
  rowCount: number;
}): React.ReactElement {
  const { values, rowCount } = props;
  return (
    <ol className="jp-insighter-top-values" data-column={props.column}>
      {values.map((top, i) => {
        const share = rowCount > 0 ? (top.count / rowCount) * 100 : 0;
        return (
          <li key={i} title={`${formatValue(top.value)}: ${top.count}`}>
            <span className="jp-insighter-top-values-value">
              {formatValue(top.value)}
            </span>
            <span className="jp-insighter-top-values-bar">
              <span style={{ width: `${share}%` }} />
            </span>
            <span className="jp-insighter-top-values-count">
              {top.count.toLocaleString()}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
