/** The part of the Web Storage API supabase-js uses. */
export interface IKeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/**
 * Where supabase-js keeps the session: `localStorage` when the person asked
 * to be remembered (the session survives closing the browser), the tab's
 * `sessionStorage` otherwise (it survives reloads, not closing the tab).
 * Switching moves what is stored, so the current session carries on.
 */
export class RememberMeStorage implements IKeyValueStorage {
  constructor(
    private readonly _persistent: IKeyValueStorage,
    private readonly _tab: IKeyValueStorage,
    private _remember = true
  ) {}

  get remember(): boolean {
    return this._remember;
  }

  /** Choose where to keep `keys` from now on, moving what is stored under them. */
  setRemember(remember: boolean, keys: readonly string[]): void {
    if (remember === this._remember) {
      return;
    }
    const from = this._active;
    this._remember = remember;
    const to = this._active;
    for (const key of keys) {
      const value = from.getItem(key);
      from.removeItem(key);
      if (value !== null) {
        to.setItem(key, value);
      }
    }
  }

  getItem(key: string): string | null {
    return this._active.getItem(key);
  }

  setItem(key: string, value: string): void {
    this._active.setItem(key, value);
  }

  removeItem(key: string): void {
    // Both: a session left in the other storage must not come back later.
    this._persistent.removeItem(key);
    this._tab.removeItem(key);
  }

  private get _active(): IKeyValueStorage {
    return this._remember ? this._persistent : this._tab;
  }
}

/** A storage that lives as long as the page (tests, and browsers that deny Web Storage). */
export class MemoryStorage implements IKeyValueStorage {
  private readonly _items = new Map<string, string>();

  getItem(key: string): string | null {
    return this._items.get(key) ?? null;
  }

  setItem(key: string, value: string): void {
    this._items.set(key, value);
  }

  removeItem(key: string): void {
    this._items.delete(key);
  }
}

/** `window.localStorage` / `sessionStorage` if the browser lets us use them. */
export function webStorage(
  kind: 'localStorage' | 'sessionStorage'
): IKeyValueStorage {
  try {
    const storage = (globalThis as Record<string, unknown>)[kind] as
      Storage | undefined;
    if (storage) {
      const probe = '__insighter_probe__';
      storage.setItem(probe, probe);
      storage.removeItem(probe);
      return storage;
    }
  } catch {
    // Denied (private mode, sandboxed frame): fall through.
  }
  return new MemoryStorage();
}
