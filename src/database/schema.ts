import { sql } from 'drizzle-orm';
import {
  bigint,
  check,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { NotificationAction } from '../notifications/notification';
import type { TemplateStrings } from '../notifications/templates/template';

/**
 * Tables are unqualified: each connection's search_path points at DATABASE_SCHEMA, so one set of
 * migrations serves every schema (and every test run gets a schema of its own).
 */
export const notifications = pgTable(
  'notifications',
  {
    // Per user, ids follow commit order: see NotificationsDrizzleRepository.insertMany.
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    // '' for "no tenant", so that (tenant, user) can be a plain unique key on every PostgreSQL.
    tenantId: text('tenant_id').notNull().default(''),
    userId: text('user_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    type: text('type').notNull(),
    title: text('title').notNull(),
    body: text('body'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
    priority: text('priority').notNull().default('normal'),
    topic: text('topic'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    readAt: timestamp('read_at', { withTimezone: true }),
    archivedAt: timestamp('archived_at', { withTimezone: true }),
    // Soft delete keeps the idempotency key, so a redelivered message cannot resurrect it.
    deletedAt: timestamp('deleted_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    url: text('url'),
    actions: jsonb('actions').$type<NotificationAction[]>().notNull().default([]),
    category: text('category'),
    seenAt: timestamp('seen_at', { withTimezone: true }),
    interactedAt: timestamp('interacted_at', { withTimezone: true }),
    interaction: text('interaction'),
    snoozedUntil: timestamp('snoozed_until', { withTimezone: true }),
    collapseKey: text('collapse_key'),
    groupKey: text('group_key'),
    groupCount: integer('group_count').notNull().default(1),
    /** When the group's first message came: it takes more for `windowSeconds` after. */
    groupStartedAt: timestamp('group_started_at', { withTimezone: true }),
    actors: jsonb('actors').$type<string[]>().notNull().default([]),
    locale: text('locale'),
  },
  // Ascending on id: scanned backwards for "newest first" (a DESC NULLS LAST index would not match
  // ORDER BY id DESC, whose default is NULLS FIRST, and would need a sort).
  (t) => [
    uniqueIndex('notifications_recipient_key_uq').on(t.tenantId, t.userId, t.idempotencyKey),
    // The inbox, newest first; also serves status=read/archived and the SSE position.
    index('notifications_inbox_idx')
      .on(t.tenantId, t.userId, t.id)
      .where(sql`${t.deletedAt} IS NULL`),
    // Unread count, status=unread and read-all touch only unread rows.
    index('notifications_unread_idx')
      .on(t.tenantId, t.userId, t.id)
      .where(sql`${t.readAt} IS NULL AND ${t.archivedAt} IS NULL AND ${t.deletedAt} IS NULL`),
    // The unseen count and status=unseen (read implies seen).
    index('notifications_unseen_idx')
      .on(t.tenantId, t.userId, t.id)
      .where(
        sql`${t.seenAt} IS NULL AND ${t.readAt} IS NULL AND ${t.archivedAt} IS NULL AND ${t.deletedAt} IS NULL`,
      ),
    index('notifications_category_idx')
      .on(t.tenantId, t.userId, t.category, t.id)
      .where(sql`${t.deletedAt} IS NULL AND ${t.category} IS NOT NULL`),
    // The notification a collapseKey replaces, the group a message joins.
    index('notifications_collapse_idx')
      .on(t.tenantId, t.userId, t.collapseKey, t.id)
      .where(sql`${t.collapseKey} IS NOT NULL AND ${t.deletedAt} IS NULL`),
    index('notifications_group_idx')
      .on(t.tenantId, t.userId, t.groupKey, t.id)
      .where(sql`${t.groupKey} IS NOT NULL AND ${t.deletedAt} IS NULL`),
    // Waking snoozed notifications; the others are not in it.
    index('notifications_snoozed_idx')
      .on(t.snoozedUntil)
      .where(sql`${t.snoozedUntil} IS NOT NULL`),
    index('notifications_type_idx')
      .on(t.tenantId, t.userId, t.type, t.id)
      .where(sql`${t.deletedAt} IS NULL`),
    // The expiry purge; rows without expiry are not in it.
    index('notifications_expires_idx')
      .on(t.expiresAt)
      .where(sql`${t.expiresAt} IS NOT NULL`),
    check('notifications_priority_ck', sql`${t.priority} IN ('low', 'normal', 'high', 'critical')`),
  ],
);

export type NotificationRow = typeof notifications.$inferSelect;

/**
 * Single-use stream tickets for browsers (EventSource cannot send headers). Stored, not kept in
 * memory, so a ticket issued by one instance opens a stream on another. Only the SHA-256 of the
 * ticket is kept.
 */
export const streamTickets = pgTable(
  'stream_tickets',
  {
    ticketHash: text('ticket_hash').primaryKey(),
    tenantId: text('tenant_id').notNull().default(''),
    userId: text('user_id').notNull(),
    roles: jsonb('roles').$type<string[]>().notNull().default([]),
    /** The stream ends when the token that asked for the ticket would have. */
    tokenExpiresAt: timestamp('token_expires_at', { withTimezone: true }).notNull(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
  },
  (t) => [index('stream_tickets_expires_idx').on(t.expiresAt)],
);

/**
 * Stream sessions (CONTRACT.md v1.1 "Browsers without tokens in URLs"): what the `herald_stream`
 * cookie stands for, until it expires or DELETE /stream/session ends it. Only the SHA-256 of the
 * cookie is kept, and that of the bearer token that opened it (DELETE with that token ends it).
 */
export const streamSessions = pgTable(
  'stream_sessions',
  {
    sessionHash: text('session_hash').primaryKey(),
    tokenHash: text('token_hash').notNull(),
    tenantId: text('tenant_id').notNull().default(''),
    userId: text('user_id').notNull(),
    roles: jsonb('roles').$type<string[]>().notNull().default([]),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('stream_sessions_token_idx').on(t.tokenHash),
    index('stream_sessions_expires_idx').on(t.expiresAt),
  ],
);

/** A user's delivery preferences; no row = defaults (nothing muted). */
export const preferences = pgTable(
  'preferences',
  {
    tenantId: text('tenant_id').notNull().default(''),
    userId: text('user_id').notNull(),
    mutedTypes: jsonb('muted_types').$type<string[]>().notNull().default([]),
    mutedCategories: jsonb('muted_categories').$type<string[]>().notNull().default([]),
    locale: text('locale'),
    timeZone: text('time_zone'),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);

/** Who follows which topic; a notification to a topic is stored for each subscriber at ingest. */
export const topicSubscriptions = pgTable(
  'topic_subscriptions',
  {
    tenantId: text('tenant_id').notNull().default(''),
    topic: text('topic').notNull(),
    userId: text('user_id').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Fan-out reads a topic's subscribers in user order (keyset pages).
    primaryKey({ columns: [t.tenantId, t.topic, t.userId] }),
    index('topic_subscriptions_user_idx').on(t.tenantId, t.userId),
  ],
);

/** Users Herald has seen (an authenticated request): the audience of a broadcast. */
export const knownUsers = pgTable(
  'known_users',
  {
    tenantId: text('tenant_id').notNull().default(''),
    userId: text('user_id').notNull(),
    firstSeenAt: timestamp('first_seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.userId] })],
);

/**
 * Notifications held until `deliver_at` (the validated command as JSON). A row is claimed with a
 * lease before delivery, so several instances never deliver one at once, and an instance that
 * dies mid-delivery leaves it to another when the lease ends.
 */
export const scheduledNotifications = pgTable(
  'scheduled_notifications',
  {
    tenantId: text('tenant_id').notNull().default(''),
    id: text('id').notNull(),
    /** Whom the command names (a digest): the same id may be scheduled for other recipients. */
    recipientsKey: text('recipients_key').notNull().default(''),
    command: jsonb('command').$type<Record<string, unknown>>().notNull(),
    deliverAt: timestamp('deliver_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.tenantId, t.id, t.recipientsKey] }),
    index('scheduled_notifications_due_idx').on(t.deliverAt),
  ],
);

/**
 * Notification templates (CONTRACT.md v1.1 "Templates"): per tenant and name, the ICU strings of
 * every locale. `revision` grows with each PUT, so a compiled template is cached by it.
 */
export const templates = pgTable(
  'templates',
  {
    tenantId: text('tenant_id').notNull().default(''),
    name: text('name').notNull(),
    defaultLocale: text('default_locale').notNull(),
    locales: jsonb('locales').$type<Record<string, TemplateStrings>>().notNull(),
    revision: integer('revision').notNull().default(1),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.name] })],
);
