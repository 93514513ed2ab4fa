import type { TranslationBundle } from '@jupyterlab/translation';
import type { DeploymentStatus } from './tokens';

/** Status words for people, by the sidecar's status (also the Tool Monitor's). */
export function statusLabel(
  status: DeploymentStatus,
  trans: TranslationBundle
): string {
  switch (status) {
    case 'pending':
      return trans.__('Pending');
    case 'starting':
      return trans.__('Starting');
    case 'ready':
      return trans.__('Ready');
    case 'failed':
      return trans.__('Failed');
    default:
      return trans.__('Stopped');
  }
}

/** A latency in milliseconds, or a dash when there is none yet. */
export function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '–' : `${value.toFixed(1)} ms`;
}
