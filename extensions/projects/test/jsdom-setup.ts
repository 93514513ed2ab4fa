/*
 * What jsdom lacks and Lumino's widgets touch when they load (as
 * @jupyterlab/testing's shim provides). Only for jsdom test files.
 */
if (typeof window !== 'undefined' && typeof window.DragEvent === 'undefined') {
  class DragEvent extends MouseEvent {
    readonly dataTransfer: DataTransfer | null;
    constructor(type: string, init: DragEventInit = {}) {
      super(type, init);
      this.dataTransfer = init.dataTransfer ?? null;
    }
  }
  (window as unknown as { DragEvent: unknown }).DragEvent = DragEvent;
}

if (typeof window !== 'undefined' && typeof window.matchMedia !== 'function') {
  // No media queries match in a test document.
  window.matchMedia = (query: string): MediaQueryList =>
    ({
      matches: false,
      media: query,
      onchange: null,
      addListener: () => undefined,
      removeListener: () => undefined,
      addEventListener: () => undefined,
      removeEventListener: () => undefined,
      dispatchEvent: () => false
    }) as MediaQueryList;
}

if (
  typeof window !== 'undefined' &&
  typeof window.requestIdleCallback !== 'function'
) {
  // ReactWidget waits for an idle moment after each render.
  window.requestIdleCallback = (callback: IdleRequestCallback): number =>
    window.setTimeout(
      () => callback({ didTimeout: false, timeRemaining: () => 50 }),
      1
    );
  window.cancelIdleCallback = (handle: number) => window.clearTimeout(handle);
}

if (
  typeof window !== 'undefined' &&
  typeof window.ResizeObserver === 'undefined'
) {
  // jsdom does no layout, so there is never a size change to report.
  window.ResizeObserver = class {
    observe(): void {}
    unobserve(): void {}
    disconnect(): void {}
  };
}

if (typeof navigator !== 'undefined' && !navigator.clipboard) {
  // JupyterLab's clipboard looks for the system one when it loads.
  let text = '';
  Object.defineProperty(navigator, 'clipboard', {
    value: {
      readText: async () => text,
      writeText: async (value: string) => {
        text = value;
      }
    }
  });
}
