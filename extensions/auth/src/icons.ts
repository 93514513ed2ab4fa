import { LabIcon } from '@jupyterlab/ui-components';

/* Drawn with JupyterLab's icon class (`jp-icon3`) so the theme recolours it. */
const MAIL_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M20 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2zm0 4-8 5-8-5V6l8 5 8-5z"/>
  </g>
</svg>`;

export const mailIcon = new LabIcon({
  name: 'insighter:mail',
  svgstr: MAIL_SVG
});
