import type { BulkChange, Notification, NotificationState } from '../notifications/notification';

/**
 * Every SSE event Herald sends, by name, with its payload (CONTRACT.md "The SSE stream"). The
 * server writes only these; the browser client reads the same map.
 */
export interface SseEventMap {
  notification: Notification;
  /** The notification's state after the change (the v1.1 fields when known). */
  'notification.updated': {
    id: string;
    deleted?: true;
    replacedBy?: string;
  } & Pick<NotificationState, 'readAt' | 'archivedAt'> &
    Partial<NotificationState>;
  /** Every notification at or below `upTo` that matches `filter` now has `set` applied. */
  'notification.bulk-updated': BulkChange;
  /** `unseen`: neither seen nor read, not archived (the bell's badge). */
  'unread-count': { count: number; unseen: number };
  /** The gap since Last-Event-ID is longer than replay covers: reload the list over REST. */
  resync: { reason: string };
  /** A live event: never stored, never replayed; `topic` when it came through one. */
  live: { type: string; data: Record<string, unknown>; topic?: string };
  'auth-expired': Record<string, never>;
}

export type SseEventName = keyof SseEventMap;

/** A value as it arrives after JSON: dates become ISO strings. */
type Json<T> = T extends Date
  ? string
  : T extends (infer E)[]
    ? Json<E>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

/** The same events as the browser (client/) receives them, parsed. */
export type SseWireEventMap = { [K in SseEventName]: Json<SseEventMap[K]> };

/** One frame for Nest's SSE writer: `id` is always the stream's position, never Nest's counter. */
export interface SseFrame<K extends SseEventName = SseEventName> {
  type: K;
  id: string;
  data: SseEventMap[K];
  retry?: number;
}
