import { LabIcon } from '@jupyterlab/ui-components';

/*
 * Drawn with JupyterLab's icon classes (`jp-icon3`) so the theme recolours
 * it: a magnifier over a rising chart.
 */
const INSIGHTER_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 19h18v2H3z"/>
    <path d="M4 17l4.5-5 3 3L16 9.5l1.4 1.4-5.9 6.6-3-3L5.5 18.3z"/>
    <path d="M15.5 2a4.5 4.5 0 0 1 3.7 7.06l2.5 2.5-1.4 1.41-2.5-2.5A4.5 4.5 0 1 1 15.5 2zm0 2a2.5 2.5 0 1 0 0 5 2.5 2.5 0 0 0 0-5z"/>
  </g>
</svg>`;

export const insighterIcon = new LabIcon({
  name: 'insighter:logo',
  svgstr: INSIGHTER_SVG
});
