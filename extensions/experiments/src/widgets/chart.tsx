import * as React from 'react';
import type { IMetricPoint } from '../metrics';

export interface IChartSeries {
  /** What the legend says, e.g. a run's name. */
  label: string;
  points: readonly IMetricPoint[];
  /** Set on the series' line for tests and styles, e.g. the run id. */
  id?: string;
}

export interface IMetricChartProps {
  metric: string;
  series: readonly IChartSeries[];
  /** The chart's caption; the metric's name by default. */
  title?: string;
  width?: number;
  height?: number;
  emptyText?: string;
}

const PAD = { left: 52, right: 12, top: 10, bottom: 26 };

/** Series colours: theme variables, so both themes draw them legibly. */
const COLORS = [
  'var(--jp-brand-color1)',
  'var(--jp-warn-color1)',
  'var(--jp-success-color1)',
  'var(--jp-error-color1)',
  'var(--jp-info-color1)',
  'var(--jp-brand-color3)'
];

/** A short number for an axis or a tooltip: 4 significant digits, no exponent for everyday values. */
export function formatValue(value: number): string {
  if (!Number.isFinite(value)) {
    return String(value);
  }
  const abs = Math.abs(value);
  if (abs !== 0 && (abs >= 1e6 || abs < 1e-3)) {
    return value.toExponential(2);
  }
  return String(Number(value.toPrecision(4)));
}

/**
 * One metric's curves over steps, drawn as SVG: each series a line, the axes'
 * ends labelled. `data-points` counts the points drawn, so a test can watch a
 * live curve grow.
 */
export function MetricChart(props: IMetricChartProps): React.ReactElement {
  const { metric, series, width = 420, height = 200 } = props;
  const all = series.flatMap(s => s.points);
  const steps = all.map(p => p.step);
  const values = all.map(p => p.value);
  let minX = Math.min(...steps);
  let maxX = Math.max(...steps);
  let minY = Math.min(...values);
  let maxY = Math.max(...values);
  if (minX === maxX) {
    minX -= 1;
    maxX += 1;
  }
  if (minY === maxY) {
    const pad = Math.abs(minY) * 0.05 || 1;
    minY -= pad;
    maxY += pad;
  }
  const plotW = width - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const x = (step: number) =>
    PAD.left + ((step - minX) / (maxX - minX)) * plotW;
  const y = (value: number) =>
    PAD.top + (1 - (value - minY) / (maxY - minY)) * plotH;
  return (
    <figure
      className="jp-insighter-metric-chart"
      data-metric={metric}
      data-points={all.length}
    >
      <figcaption className="jp-insighter-metric-chart-title">
        {props.title ?? metric}
        {series.length === 1 && all.length > 0 && (
          <span className="jp-insighter-metric-chart-latest">
            {formatValue(series[0].points[series[0].points.length - 1].value)}
          </span>
        )}
      </figcaption>
      {all.length === 0 ? (
        <p className="jp-insighter-Experiments-muted">
          {props.emptyText ?? ''}
        </p>
      ) : (
        <svg
          width={width}
          height={height}
          viewBox={`0 0 ${width} ${height}`}
          role="img"
          aria-label={props.title ?? metric}
        >
          <line
            className="jp-insighter-metric-chart-axis"
            x1={PAD.left}
            y1={PAD.top + plotH}
            x2={PAD.left + plotW}
            y2={PAD.top + plotH}
          />
          <line
            className="jp-insighter-metric-chart-axis"
            x1={PAD.left}
            y1={PAD.top}
            x2={PAD.left}
            y2={PAD.top + plotH}
          />
          <text
            className="jp-insighter-metric-chart-label"
            x={PAD.left - 4}
            y={PAD.top + 8}
            textAnchor="end"
          >
            {formatValue(maxY)}
          </text>
          <text
            className="jp-insighter-metric-chart-label"
            x={PAD.left - 4}
            y={PAD.top + plotH}
            textAnchor="end"
          >
            {formatValue(minY)}
          </text>
          <text
            className="jp-insighter-metric-chart-label"
            x={PAD.left}
            y={height - 8}
            textAnchor="start"
          >
            {formatValue(minX)}
          </text>
          <text
            className="jp-insighter-metric-chart-label"
            x={PAD.left + plotW}
            y={height - 8}
            textAnchor="end"
          >
            {formatValue(maxX)}
          </text>
          {series.map((s, i) => {
            const color = COLORS[i % COLORS.length];
            const path = s.points
              .map(p => `${x(p.step).toFixed(1)},${y(p.value).toFixed(1)}`)
              .join(' ');
            return (
              <g key={s.id ?? s.label} data-series={s.id ?? s.label}>
                {s.points.length > 1 ? (
                  <polyline
                    fill="none"
                    stroke={color}
                    strokeWidth={1.5}
                    points={path}
                  />
                ) : (
                  s.points.map(p => (
                    <circle
                      key={p.step}
                      cx={x(p.step)}
                      cy={y(p.value)}
                      r={2.5}
                      fill={color}
                    />
                  ))
                )}
              </g>
            );
          })}
        </svg>
      )}
      {series.length > 1 && (
        <ul className="jp-insighter-metric-chart-legend">
          {series.map((s, i) => (
            <li key={s.id ?? s.label}>
              <span
                className="jp-insighter-metric-chart-swatch"
                style={{ background: COLORS[i % COLORS.length] }}
              />
              {s.label}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
