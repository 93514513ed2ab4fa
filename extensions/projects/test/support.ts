import {
  ISession,
  ISessionChangedArgs,
  ISessionProfile,
  ISidecarRequestInit,
  SidecarError
} from '@insighter/core';
import { Signal } from '@lumino/signaling';
import type { IProject, ITeam } from '../src/tokens';

let counter = 0;

export function project(overrides: Partial<IProject> = {}): IProject {
  counter++;
  const id =
    overrides.id ??
    `00000000-0000-4000-8000-${String(counter).padStart(12, '0')}`;
  return {
    id,
    slug: `project-${counter}`,
    name: `Project ${counter}`,
    description: '',
    visibility: 'private',
    team_id: null,
    owner_id: 'u-ada',
    created_at: '2026-11-01T10:00:00.000Z',
    updated_at: '2026-11-01T10:00:00.000Z',
    dataset_count: 0,
    run_count: 0,
    model_count: 0,
    last_activity_at: '2026-11-01T10:00:00.000Z',
    ...overrides
  };
}

export const TEAM: ITeam = {
  id: '11111111-1111-4111-8111-111111111111',
  name: 'Risk',
  role: 'member',
  member_count: 2
};

type Handler = (init: ISidecarRequestInit) => unknown;

/**
 * Stands in for the sidecar client in these unit tests of one model: answers
 * by `METHOD path`, throws `SidecarError`s the way the client does, and
 * records every call.
 */
export class SidecarStub {
  readonly calls: string[] = [];
  readonly routes = new Map<string, Handler>();

  on(route: string, handler: Handler): this {
    this.routes.set(route, handler);
    return this;
  }

  async request<T>(path: string, init: ISidecarRequestInit = {}): Promise<T> {
    const route = `${init.method ?? 'GET'} ${path}`;
    this.calls.push(route);
    const handler = this.routes.get(route);
    if (!handler) {
      throw new SidecarError({
        kind: 'response',
        status: 404,
        code: 'not_found',
        message: `No route ${route}.`
      });
    }
    await Promise.resolve();
    return handler(init) as T;
  }
}

export function refusal(
  status: number,
  code: string,
  message: string,
  details?: unknown
): SidecarError {
  return new SidecarError({ kind: 'response', status, code, message, details });
}

export const ADA: ISessionProfile = {
  id: 'u-ada',
  email: 'ada@example.org',
  fullName: 'Ada Lovelace',
  firstName: 'Ada'
};

export const GRACE: ISessionProfile = {
  id: 'u-grace',
  email: 'grace@example.org',
  fullName: 'Grace Hopper',
  firstName: 'Grace'
};

/** A session with what the models read: ready, user, isLoggedIn, changed. */
export class SessionStub {
  user: ISessionProfile | null = null;
  readonly ready = Promise.resolve();
  readonly changed = new Signal<ISession, ISessionChangedArgs>(
    this as unknown as ISession
  );

  get isLoggedIn(): boolean {
    return this.user !== null;
  }

  signIn(user: ISessionProfile): void {
    this.user = user;
    this.changed.emit({ user, reason: 'signed-in' });
  }

  signOut(): void {
    this.user = null;
    this.changed.emit({ user: null, reason: 'signed-out' });
  }

  asSession(): ISession {
    return this as unknown as ISession;
  }
}

/** Resolves once `predicate` holds, checked after each emission of `signal`. */
export function until(
  signal: {
    connect: (fn: () => void) => unknown;
    disconnect: (fn: () => void) => unknown;
  },
  predicate: () => boolean
): Promise<void> {
  if (predicate()) {
    return Promise.resolve();
  }
  return new Promise(resolve => {
    const check = () => {
      if (predicate()) {
        signal.disconnect(check);
        resolve();
      }
    };
    signal.connect(check);
  });
}
