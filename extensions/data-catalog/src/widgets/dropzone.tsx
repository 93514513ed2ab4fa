import type { TranslationBundle } from '@jupyterlab/translation';
import * as React from 'react';

/** What the file picker offers first; the sidecar judges files by content, not by name. */
const ACCEPTED = '.csv,.tsv,.txt,.parquet,text/csv';

export interface IDropZoneProps {
  /** Called with the files dropped or picked. */
  onFiles: (files: File[]) => void;
  /** Why nothing can be uploaded here now; the zone is off while set. */
  disabledReason?: string | null;
  trans: TranslationBundle;
}

/**
 * Where files are dropped, or picked with the browser's file dialog (a
 * click, Enter or Space). Several files upload side by side.
 */
export function DropZone(props: IDropZoneProps): React.ReactElement {
  const { onFiles, disabledReason, trans } = props;
  const input = React.useRef<HTMLInputElement>(null);
  const [over, setOver] = React.useState(false);
  const disabled = Boolean(disabledReason);

  const take = (list: FileList | null) => {
    const files = list ? Array.from(list) : [];
    if (files.length && !disabled) {
      onFiles(files);
    }
  };
  const onDragOver = (event: React.DragEvent) => {
    // Without this the browser would open a dropped file in place of the lab.
    event.preventDefault();
    event.stopPropagation();
    if (event.dataTransfer) {
      event.dataTransfer.dropEffect = disabled ? 'none' : 'copy';
    }
    setOver(!disabled);
  };
  const onDragLeave = (event: React.DragEvent) => {
    const next = event.relatedTarget as Node | null;
    if (!next || !event.currentTarget.contains(next)) {
      setOver(false);
    }
  };
  const onDrop = (event: React.DragEvent) => {
    event.preventDefault();
    event.stopPropagation();
    setOver(false);
    take(event.dataTransfer?.files ?? null);
  };
  const pick = () => {
    if (!disabled) {
      input.current?.click();
    }
  };

  return (
    <div
      className="jp-insighter-DataDropZone"
      data-testid="insighter-dataset-dropzone"
      data-dragover={over ? 'true' : undefined}
      aria-disabled={disabled}
      role="button"
      tabIndex={disabled ? -1 : 0}
      onDragEnter={onDragOver}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
      onClick={pick}
      onKeyDown={event => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          pick();
        }
      }}
    >
      <span className="jp-insighter-DataDropZone-title">
        {disabled
          ? disabledReason
          : trans.__('Drop CSV or Parquet files here, or click to choose')}
      </span>
      {!disabled && (
        <span className="jp-insighter-Data-muted">
          {trans.__(
            'Each file is checked by its content, profiled, and listed when it is ready. A file with the name of a dataset becomes its next version.'
          )}
        </span>
      )}
      <input
        ref={input}
        type="file"
        multiple
        accept={ACCEPTED}
        hidden
        data-testid="insighter-dataset-file-input"
        onClick={event => event.stopPropagation()}
        onChange={event => {
          take(event.currentTarget.files);
          // The same file picked again is a new upload.
          event.currentTarget.value = '';
        }}
      />
    </div>
  );
}
