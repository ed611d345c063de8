export const PRIORITIES = ['low', 'normal', 'high', 'critical'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Whose inbox: every read and write is scoped by both; `tenantId` null means "no tenant". */
export interface Recipient {
  userId: string;
  tenantId: string | null;
}

/** A recipient as one string (tenant and user, NUL-separated): for maps, locks and routing. */
export function recipientKey(recipient: Recipient): string {
  return `${recipient.tenantId ?? ''}\u0000${recipient.userId}`;
}

/** Orders notification ids (decimal digits without leading zeros, as PostgreSQL prints them). */
export function compareIds(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** A stored notification as the API and the streams show it (CONTRACT.md "A Notification"). */
export interface Notification {
  /** Opaque; per user, ordered as the user's notifications were committed. */
  id: string;
  userId: string;
  tenantId: string | null;
  type: string;
  title: string;
  body: string | null;
  data: Record<string, unknown>;
  priority: Priority;
  topic: string | null;
  createdAt: Date;
  readAt: Date | null;
  archivedAt: Date | null;
  expiresAt: Date | null;
}

/** One row to store: a notification for one recipient. */
export type NotificationDraft = Pick<
  Notification,
  'type' | 'title' | 'body' | 'data' | 'priority' | 'topic' | 'expiresAt'
> & {
  recipient: Recipient;
  /** Unique per recipient: storing the same key twice keeps the first. */
  idempotencyKey: string;
  /** When the producer published it (ms since the epoch), if known; not stored. */
  sentAt?: number;
};

export const INBOX_STATUSES = ['unread', 'read', 'all', 'archived'] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

export interface InboxQuery {
  limit: number;
  /** Exclusive: items older than this id. */
  cursor?: string;
  /** `all` = everything not archived; `archived` = only archived. */
  status: InboxStatus;
  type?: string;
}

export interface NotificationSearch {
  tenantId: string | null;
  userId?: string;
  type?: string;
  limit: number;
  cursor?: string;
}

export interface InboxPage {
  items: Notification[];
  nextCursor: string | null;
}

/**
 * A change to many notifications at once (CONTRACT.md v1.1 `notification.bulk-updated`): every
 * notification of the recipient at or below `upTo` that matches `filter` now has `set` applied.
 */
export interface BulkChange {
  upTo: string;
  filter: { status?: InboxStatus };
  set: { read?: boolean };
  at: Date;
}

export interface StateChange {
  read?: boolean;
  archived?: boolean;
}

/**
 * A recipient's unread count and the newest notification it takes in (the stream position, "0"
 * when there is none), read together: a notification with a higher id is not counted yet.
 */
export interface UnreadState {
  count: number;
  position: string;
  /** When the first notification the count takes in expires (it then counts one less), if any. */
  nextExpiry?: Date | null;
}
