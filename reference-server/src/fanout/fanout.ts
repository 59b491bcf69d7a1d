import type { Principal } from '../chat/types.js';

/**
 * One frame for the sockets of a group. `frame` is serialized once by the
 * publisher, however many sockets receive it. `exceptSocket` leaves out the
 * socket the frame answers (typing is not echoed to its sender).
 */
export interface FanoutEvent {
  frame: string;
  exceptSocket?: string;
  /**
   * The seq of a `message` frame, so that a socket can drop what its client
   * fetches as history without parsing the frame. A fan-out layer between
   * processes must carry it along with the frame.
   */
  seq?: number;
}

export type FanoutListener = (event: FanoutEvent) => void;

export interface Subscription {
  /**
   * Resolves once every event published to the group from then on, by any
   * server, reaches the listener: state read after it is never older than the
   * events that follow.
   */
  readonly ready: Promise<void>;
  unsubscribe(): void;
}

/**
 * Groups of sockets that receive the same frames: one per room and one per
 * principal (a user, or a workshop's admins). The in-process layer serves one
 * server; the Redis layer with the same interface serves several.
 */
export interface Fanout {
  /**
   * `onMissed` is called when events of the group may have been lost on their
   * way between servers (the link to Redis broke and is back): the subscriber
   * must resynchronise from the store.
   */
  subscribe(group: string, listener: FanoutListener, onMissed: () => void): Subscription;
  publish(group: string, event: FanoutEvent): void;
  /** False while events published here may not reach the other servers. */
  healthy(): boolean;
  /** Set to hear how long each event took to reach the other servers' link (Redis's answer to its PUBLISH), in seconds. */
  onPublished?: ((seconds: number) => void) | null;
  close(): Promise<void>;
}

export function roomGroup(requestId: string): string {
  return `room:${requestId}`;
}

export function principalGroup(principal: Principal): string {
  return principal.side === 'user' ? `user:${principal.userId}` : `workshop:${principal.workshopId}`;
}
