import { createHash } from 'node:crypto';
import type { Observable } from 'rxjs';
import type { InboxEvent } from '../notifications/inbox-events';
import { Recipient, recipientKey } from '../notifications/notification';
import type { LiveEvent } from './live-event.command';

/**
 * What travels between instances: an inbox change, a live event, or a burst of both (routed to
 * every instance: see RealtimeRouter).
 */
export type BusMessage =
  | InboxEvent
  | LiveEvent
  | WideBulkChange
  | { kind: 'batch'; events: (InboxEvent | LiveEvent | WideBulkChange)[] };

type BulkChanged = Extract<InboxEvent, { kind: 'bulk-updated' }>;

/**
 * A bulk change an instance older than v1.1 would apply too broadly (it drops the filter fields
 * it does not know: "read where type = x" would become "read all"). It travels under a kind of
 * its own, which such an instance drops instead: its tabs then miss it, as any change missed
 * live, rather than show a wrong one.
 */
export type WideBulkChange = Omit<BulkChanged, 'kind'> & { kind: 'bulk-filtered' };

/** What v1 instances read right: a status filter of theirs, and `read`. */
const V1_STATUSES: readonly string[] = ['unread', 'read', 'all', 'archived'];

/** An inbox change as it goes on the bus. */
export function onTheWire(event: InboxEvent): InboxEvent | WideBulkChange {
  if (event.kind !== 'bulk-updated') return event;
  const { filter, set } = event;
  const v1 =
    Object.keys(filter).every((key) => key === 'status') &&
    (filter.status === undefined || V1_STATUSES.includes(filter.status)) &&
    Object.keys(set).every((key) => key === 'read');
  return v1 ? event : { ...event, kind: 'bulk-filtered' };
}

/** The inbox change a message from the bus stands for. */
export function offTheWire(message: InboxEvent | WideBulkChange): InboxEvent {
  return message.kind === 'bulk-filtered' ? { ...message, kind: 'bulk-updated' } : message;
}

const hash = (text: string) => createHash('sha1').update(text).digest('hex');

/** Routing key of a recipient's changes: a hash, so any user id is a valid key. */
export function userKey(recipient: Recipient): string {
  return `u.${hash(recipientKey(recipient))}`;
}

/** Routing key of live events to a topic. */
export function topicKey(tenantId: string | null, topic: string): string {
  return `t.${hash(`${tenantId ?? ''}\u0000${topic}`)}`;
}

/** Routing key of what goes to every instance, which every instance binds. */
export const EVERYONE_KEY = 'everyone';

/**
 * Carries inbox changes and live events between Herald instances: each instance receives what
 * is published under the keys it bound (its users', their topics', and EVERYONE_KEY), and
 * never its own messages back. Fire-and-forget: a client that misses a change live replays it
 * from storage when it reconnects (live events are not replayed). The RabbitMQ implementation
 * is messaging/AmqpRealtimeBus; the DI token is this class (RealtimeModule.register).
 */
export abstract class RealtimeBus {
  /** What other instances published under a key bound here. */
  abstract readonly remote$: Observable<BusMessage>;
  /**
   * Emits when what was published for this instance may have been lost: its bus is back after
   * its queue went with its connection, or another instance's is (what that one published as its
   * connection went may be lost). A lost notification is noticed by the next one of its user
   * (Stream: a gap), but the last one of a burst has no next: BusLossCheck then checks each
   * stream against storage.
   */
  abstract readonly lost$: Observable<void>;
  /** Starts receiving what is published under `key`; resolves once that holds. */
  abstract bind(key: string): Promise<void>;
  abstract unbind(key: string): Promise<void>;
  /** Sends one message to every other instance bound to any of `keys`. */
  abstract publish(keys: string[], message: BusMessage): void;
}
