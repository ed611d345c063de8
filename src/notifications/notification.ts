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

/** A button shown with a notification (CONTRACT.md v1.1 `actions`). */
export interface NotificationAction {
  id: string;
  label: string;
  url?: string;
}

/**
 * A stored notification as the API and the streams show it (CONTRACT.md "A Notification" and
 * v1.1 "The Notification gains").
 */
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
  /** Where a click goes: `https://`, `http://` or a path. */
  url: string | null;
  actions: NotificationAction[];
  category: string | null;
  /** Seen (the list was shown) apart from read (opened): the bell's badge counts unseen. */
  seenAt: Date | null;
  interactedAt: Date | null;
  /** The id of the action taken. */
  interaction: string | null;
  /** Hidden from lists, counts and replay until then. */
  snoozedUntil: Date | null;
  collapseKey: string | null;
  groupKey: string | null;
  /** How many messages it stands for (1 when not grouped). */
  groupCount: number;
  /** Of a group: the newest first, distinct, at most 5. */
  actors: string[];
  /** The locale it was rendered in. */
  locale: string | null;
}

/** What a notification holds when it is stored, past what its draft gave it. */
export function freshState(): Pick<
  Notification,
  | 'readAt'
  | 'archivedAt'
  | 'seenAt'
  | 'interactedAt'
  | 'interaction'
  | 'snoozedUntil'
  | 'collapseKey'
  | 'groupKey'
  | 'groupCount'
  | 'actors'
  | 'locale'
> {
  return {
    readAt: null,
    archivedAt: null,
    seenAt: null,
    interactedAt: null,
    interaction: null,
    snoozedUntil: null,
    collapseKey: null,
    groupKey: null,
    groupCount: 1,
    actors: [],
    locale: null,
  };
}

/** CONTRACT.md v1.1 `group`. */
export interface GroupSpec {
  key: string;
  /** How long after its first message a group takes more. */
  windowSeconds: number;
  /** Who this message is from, for "Ada and 4 others". */
  actor: string | null;
}

/** Actors a grouped notification keeps, newest first. */
export const MAX_ACTORS = 5;

/** The parts of a Notification a user changes: what `notification.updated` carries. */
export type NotificationState = Pick<
  Notification,
  'readAt' | 'archivedAt' | 'seenAt' | 'interactedAt' | 'interaction' | 'snoozedUntil'
>;

/** One row to store: a notification for one recipient. */
export type NotificationDraft = Pick<
  Notification,
  | 'type'
  | 'title'
  | 'body'
  | 'data'
  | 'priority'
  | 'topic'
  | 'expiresAt'
  | 'url'
  | 'actions'
  | 'category'
  | 'collapseKey'
  | 'locale'
> & {
  recipient: Recipient;
  /** Joins the recipient's open group of this key, or starts one. */
  group: GroupSpec | null;
  /** Unique per recipient: storing the same key twice keeps the first. */
  idempotencyKey: string;
  /** When the producer published it (ms since the epoch), if known; not stored. */
  sentAt?: number;
  /**
   * Of a templated draft in a group: its text again for the group it joins (`{count}`,
   * `{actors}`), once storing knows the group.
   */
  regroup?: (group: { count: number; actors: readonly string[] }) => RenderedText;
};

/** What a template renders. */
export type RenderedText = Pick<Notification, 'title' | 'body' | 'actions'>;

export const INBOX_STATUSES = ['unread', 'read', 'all', 'archived', 'unseen', 'snoozed'] as const;
export type InboxStatus = (typeof INBOX_STATUSES)[number];

export interface InboxQuery {
  limit: number;
  /** Exclusive: items older than this id. */
  cursor?: string;
  /**
   * `all` = everything not archived; `archived` = only archived; `snoozed` = only those asleep,
   * which every other status leaves out.
   */
  status: InboxStatus;
  type?: string;
  category?: string;
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
  filter: BulkFilter;
  set: BulkSet;
  at: Date;
}

/** Which notifications a bulk change is for: all of the conditions given. */
export interface BulkFilter {
  status?: InboxStatus;
  type?: string;
  category?: string;
  /** Created before this time. */
  before?: Date;
  ids?: string[];
}

export interface BulkSet {
  read?: boolean;
  seen?: boolean;
  archived?: boolean;
}

export interface StateChange extends BulkSet {
  /** A time to sleep until, or null to wake it now. */
  snoozedUntil?: Date | null;
}

/**
 * A recipient's unread count and the newest notification it takes in (the stream position, "0"
 * when there is none), read together: a notification with a higher id is not counted yet.
 */
export interface UnreadState {
  count: number;
  /** Neither seen nor read (read implies seen), not archived; as `count`, not snoozed or expired. */
  unseen: number;
  position: string;
  /** When the first notification the count takes in expires (it then counts one less), if any. */
  nextExpiry?: Date | null;
}
