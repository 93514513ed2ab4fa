import type { TranslationBundle } from '@jupyterlab/translation';

/** "4.2 s", "3 min 5 s", "1 h 2 min": a run's length as people read it. */
export function formatDuration(
  ms: number | null,
  trans: TranslationBundle
): string {
  if (ms === null || !Number.isFinite(ms) || ms < 0) {
    return '';
  }
  const seconds = ms / 1000;
  if (seconds < 60) {
    return trans.__(
      '%1 s',
      seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)
    );
  }
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) {
    return trans.__('%1 min %2 s', minutes, Math.round(seconds % 60));
  }
  return trans.__('%1 h %2 min', Math.floor(minutes / 60), minutes % 60);
}

/** "1.5 MB": an artifact's or a container's size. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes == null || !Number.isFinite(bytes)) {
    return '';
  }
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** Hands a downloaded file to the browser to save under `name`. */
export function saveBlob(blob: Blob, name: string): void {
  // As bytes: a text type makes browsers add ".txt" to names such as MLmodel.
  const url = URL.createObjectURL(
    new Blob([blob], { type: 'application/octet-stream' })
  );
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  document.body.appendChild(anchor);
  anchor.click();
  anchor.remove();
  // The click has started the download; the URL can go once it has been read.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
