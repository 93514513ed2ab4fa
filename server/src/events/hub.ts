import type { Logger } from '../logger';
import type { ServerEventMap, ServerEventType } from './event-types';

/**
 * The row an event is about. A user receives the event only when row-level
 * security lets them read that row (`select 1 from public.<table> where id = …`
 * under their claims).
 */
export interface EventResource {
  /** A table in the `public` schema, e.g. `projects`. */
  table: string;
  id: string;
}

export type ServerEvent = {
  [K in ServerEventType]: {
    type: K;
    payload: ServerEventMap[K];
    resource: EventResource;
    /**
     * Users who could read the row just before the change: they receive the
     * event even if they cannot read the row any more (a delete, or a project
     * made private). Take it with `EventHub.readersOf` before the change.
     */
    formerReaders?: ReadonlySet<string>;
    /** The row no longer exists (a delete): only `formerReaders` receive it. */
    rowGone?: boolean;
  };
}[ServerEventType];

/** Something that delivers events, e.g. the WebSocket stream. */
export interface EventSubscriber {
  /** Called synchronously for each event; must not throw. */
  onEvent(event: ServerEvent): void;
  /** The ids of connected users who can read the row now. */
  readersOf?(resource: EventResource): Promise<Set<string>>;
}

/**
 * In-process publish/subscribe between services and the event stream.
 * Services publish after their transaction committed, so nobody hears of a
 * change that was rolled back; publishing never fails the request.
 */
export class EventHub {
  private readonly subscribers = new Set<EventSubscriber>();

  constructor(private readonly logger?: Logger) {}

  subscribe(subscriber: EventSubscriber): () => void {
    this.subscribers.add(subscriber);
    return () => {
      this.subscribers.delete(subscriber);
    };
  }

  publish(event: ServerEvent): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber.onEvent(event);
      } catch (err) {
        this.logger?.error(
          { err, type: event.type },
          'an event subscriber failed'
        );
      }
    }
  }

  /**
   * Connected users who can read the row now: call it before a change that
   * may hide the row from some of them, and pass it as `formerReaders`.
   */
  async readersOf(resource: EventResource): Promise<Set<string>> {
    const readers = new Set<string>();
    for (const subscriber of this.subscribers) {
      if (!subscriber.readersOf) {
        continue;
      }
      try {
        for (const id of await subscriber.readersOf(resource)) {
          readers.add(id);
        }
      } catch (err) {
        this.logger?.warn(
          { err, table: resource.table },
          'could not list the readers of a row'
        );
      }
    }
    return readers;
  }
}
