import { errorMessage } from '../db/errors';
import type { HealthCheck } from '../services/status';
import type { DiskObjectStore } from './disk-store';

/** The status bar's storage light: the object folder is writable, and how much room is left. */
export function storageHealthCheck(store: DiskObjectStore): HealthCheck {
  return {
    name: 'storage',
    async check() {
      try {
        await store.probeWritable();
        const free = await store.freeBytes();
        return {
          state: 'ok',
          backend: 'disk',
          detail: `Objects on disk in ${store.root}, ${formatBytes(free)} free.`
        };
      } catch (err) {
        return {
          state: 'down',
          backend: 'disk',
          detail: `The object folder ${store.root} cannot be written: ${errorMessage(err)}`
        };
      }
    }
  };
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
