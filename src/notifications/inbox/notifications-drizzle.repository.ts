import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import {
  and,
  asc,
  desc,
  eq,
  gt,
  gte,
  inArray,
  isNotNull,
  isNull,
  lt,
  lte,
  or,
  sql,
  SQL,
} from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { Database, queryRows, RawQuery } from '../../database/database';
import { NotificationRow, notifications as table } from '../../database/schema';
import {
  BulkFilter,
  BulkSet,
  freshState,
  InboxPage,
  InboxQuery,
  InboxStatus,
  Notification,
  NotificationAction,
  NotificationDraft,
  NotificationSearch,
  Priority,
  Recipient,
  recipientKey,
  StateChange,
  UnreadState,
} from '../notification';
import { NotificationsRepository, StoredDraft } from './notifications.repository';
import { planReplacements, Replacement } from './replacements';

/** Rows per INSERT statement, to bound the size of one statement's arrays. */
const INSERT_CHUNK = 5000;
const MAX_ID = 9223372036854775807n;

/** Ids are decimal bigints on the wire; anything else can only be "not found". */
function parseId(id: string | undefined): bigint | null {
  if (!id || !/^[1-9]\d{0,18}$/.test(id)) return null;
  const value = BigInt(id);
  return value <= MAX_ID ? value : null;
}

function toNotification(row: NotificationRow): Notification {
  return {
    id: row.id.toString(),
    userId: row.userId,
    tenantId: row.tenantId || null,
    type: row.type,
    title: row.title,
    body: row.body,
    data: row.data,
    priority: row.priority as Priority,
    topic: row.topic,
    createdAt: row.createdAt,
    readAt: row.readAt,
    archivedAt: row.archivedAt,
    expiresAt: row.expiresAt,
    url: row.url,
    actions: row.actions,
    category: row.category,
    seenAt: row.seenAt,
    interactedAt: row.interactedAt,
    interaction: row.interaction,
    snoozedUntil: row.snoozedUntil,
    collapseKey: row.collapseKey,
    groupKey: row.groupKey,
    groupCount: row.groupCount,
    actors: row.actors,
    locale: row.locale,
  };
}

/** Lock keys computed lately, by recipientKey; forgotten all at once past LOCK_KEYS_REMEMBERED. */
const lockKeys = new Map<string, bigint>();
const LOCK_KEYS_REMEMBERED = 100_000;

/** A signed 64-bit advisory-lock key per recipient (a collision only serialises two users). */
function lockKey(recipient: Recipient): bigint {
  const key = recipientKey(recipient);
  let lock = lockKeys.get(key);
  if (lock === undefined) {
    lock = BigInt.asIntN(64, createHash('sha256').update(key).digest().readBigUInt64BE());
    if (lockKeys.size >= LOCK_KEYS_REMEMBERED) lockKeys.clear();
    lockKeys.set(key, lock);
  }
  return lock;
}

/**
 * Locks every recipient, in ascending key order (so two transactions cannot deadlock). A
 * statement of its own, without parameters (the keys are integers written out): it goes with
 * BEGIN (Database.transaction), and the statements after it take their snapshots once it holds
 * every lock.
 */
function lockRecipients(recipients: Recipient[]): string {
  const keys = [...new Set(recipients.map(lockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `SELECT pg_advisory_xact_lock(k)
    FROM unnest('{${keys.join(',')}}'::bigint[]) WITH ORDINALITY AS v(k, n) ORDER BY n`;
}

/**
 * Stores drafts ($1…$19: a text array per column, unnested in the database: cheap to build and to
 * parse whatever the batch size) and answers, in one statement, the rows it inserted in draft
 * order (ids grow in insertion order): those of drafts whose recipient did not have the key yet,
 * the first of them when a key repeats (ON CONFLICT keeps the first row). `previous_id` is the
 * recipient's notification just before: the newest one not deleted before this statement (its
 * snapshot, taken once an earlier statement of the transaction held the recipients' locks, has
 * every row committed for them), or the one this statement inserted just before.
 */
const STORE_DRAFTS = `
  WITH v AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
      $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
      $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::text[])
      WITH ORDINALITY AS v(t, u, k, ty, ti, b, d, p, tp, e, l, a, c, ck, gk, gc, ga, gs, lo, n)
  ),
  inserted AS (
    INSERT INTO notifications (tenant_id, user_id, idempotency_key, type, title, body, data,
      priority, topic, expires_at, url, actions, category, collapse_key, group_key, group_count,
      actors, group_started_at, locale)
    SELECT t, u, k, ty, ti, b, d::jsonb, p, tp, e::timestamptz, l, a::jsonb, c, ck, gk, gc::int,
      ga::jsonb, CASE WHEN gk IS NOT NULL THEN coalesce(gs::timestamptz, now()) END, lo
    FROM v ORDER BY n
    ON CONFLICT (tenant_id, user_id, idempotency_key) DO NOTHING
    RETURNING id, tenant_id, user_id, idempotency_key, created_at
  ),
  newest AS (
    SELECT r.t, r.u, (
      SELECT max(x.id) FROM notifications x
      WHERE x.tenant_id = r.t AND x.user_id = r.u AND x.deleted_at IS NULL
    ) AS id
    FROM (SELECT DISTINCT t, u FROM v) AS r
  )
  SELECT i.id::text AS id, i.tenant_id, i.user_id, i.idempotency_key, i.created_at,
    coalesce(lag(i.id) OVER (PARTITION BY i.tenant_id, i.user_id ORDER BY i.id), w.id)::text
      AS previous_id
  FROM inserted i JOIN newest w ON w.t = i.tenant_id AND w.u = i.user_id
  ORDER BY i.id`;

/** A row of STORE_DRAFTS. */
interface InsertedRow {
  id: string;
  tenant_id: string;
  user_id: string;
  idempotency_key: string;
  created_at: Date | string;
  previous_id: string | null;
}

/**
 * A stored row as raw SQL reads it (`x.*`): snake case, the id as text, and dates as PGlite or
 * node-postgres give them.
 */
interface RawRow {
  id: string;
  tenant_id: string;
  user_id: string;
  type: string;
  title: string;
  body: string | null;
  data: Record<string, unknown>;
  priority: string;
  topic: string | null;
  created_at: Date | string;
  read_at: Date | string | null;
  archived_at: Date | string | null;
  expires_at: Date | string | null;
  url: string | null;
  actions: NotificationAction[];
  category: string | null;
  seen_at: Date | string | null;
  interacted_at: Date | string | null;
  interaction: string | null;
  snoozed_until: Date | string | null;
  collapse_key: string | null;
  group_key: string | null;
  group_count: number;
  actors: string[];
  locale: string | null;
}

function orNull(value: Date | string | null): Date | null {
  return value === null ? null : new Date(value);
}

function fromRaw(row: RawRow): Notification {
  return {
    id: String(row.id),
    userId: row.user_id,
    tenantId: row.tenant_id || null,
    type: row.type,
    title: row.title,
    body: row.body,
    data: row.data,
    priority: row.priority as Priority,
    topic: row.topic,
    createdAt: new Date(row.created_at),
    readAt: orNull(row.read_at),
    archivedAt: orNull(row.archived_at),
    expiresAt: orNull(row.expires_at),
    url: row.url,
    actions: row.actions,
    category: row.category,
    seenAt: orNull(row.seen_at),
    interactedAt: orNull(row.interacted_at),
    interaction: row.interaction,
    snoozedUntil: orNull(row.snoozed_until),
    collapseKey: row.collapse_key,
    groupKey: row.group_key,
    groupCount: Number(row.group_count),
    actors: row.actors,
    locale: row.locale,
  };
}

const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/**
 * A text[] literal, as node-postgres writes an array parameter (each element quoted, `"` and `\`
 * escaped), without its two regular-expression replacements per element: a fifth of the time
 * of building a batch's statement.
 */
function textArray(values: (string | null)[]): string {
  let literal = '{';
  for (const [index, value] of values.entries()) {
    if (index > 0) literal += ',';
    literal +=
      value === null
        ? 'NULL'
        : `"${NEEDS_ESCAPE.test(value) ? value.replace(ESCAPED, '\\$&') : value}"`;
  }
  return `${literal}}`;
}

/** STORE_DRAFTS's parameters: one text[] literal per column. */
function columnsOf(drafts: NotificationDraft[], plans: Replacement[]): string[] {
  const columns: (string | null)[][] = Array.from({ length: 19 }, () => []);
  for (const [index, draft] of drafts.entries()) {
    const plan = plans[index];
    columns[0].push(draft.recipient.tenantId ?? '');
    columns[1].push(draft.recipient.userId);
    columns[2].push(draft.idempotencyKey);
    columns[3].push(draft.type);
    columns[4].push(draft.title);
    columns[5].push(draft.body);
    columns[6].push(JSON.stringify(draft.data));
    columns[7].push(draft.priority);
    columns[8].push(draft.topic);
    columns[9].push(draft.expiresAt?.toISOString() ?? null);
    columns[10].push(draft.url);
    columns[11].push(JSON.stringify(draft.actions));
    columns[12].push(draft.category);
    columns[13].push(draft.collapseKey);
    columns[14].push(draft.group?.key ?? null);
    columns[15].push(String(plan.groupCount));
    columns[16].push(JSON.stringify(plan.actors));
    columns[17].push(plan.groupStartedAt);
    columns[18].push(draft.locale);
  }
  return columns.map(textArray);
}

function fromDraft(
  draft: NotificationDraft,
  plan: Replacement,
  id: string,
  createdAt: Date | string,
): Notification {
  return {
    id,
    userId: draft.recipient.userId,
    tenantId: draft.recipient.tenantId,
    type: draft.type,
    title: draft.title,
    body: draft.body,
    data: draft.data,
    priority: draft.priority,
    topic: draft.topic,
    createdAt: new Date(createdAt),
    expiresAt: draft.expiresAt,
    url: draft.url,
    actions: draft.actions,
    category: draft.category,
    ...freshState(),
    collapseKey: draft.collapseKey,
    groupKey: draft.group?.key ?? null,
    groupCount: plan.groupCount,
    actors: plan.actors,
    locale: draft.locale,
  };
}

/** Not snoozed, or its snooze is over (it may not have been woken yet). */
const AWAKE = or(isNull(table.snoozedUntil), lte(table.snoozedUntil, sql`now()`))!;

/** The conditions of an inbox status; every status but `snoozed` leaves out the snoozed. */
function statusConditions(status: InboxStatus | undefined): SQL[] {
  switch (status) {
    case 'unread':
      return [isNull(table.readAt), isNull(table.archivedAt), AWAKE];
    case 'read':
      return [isNotNull(table.readAt), isNull(table.archivedAt), AWAKE];
    case 'unseen': // read implies seen
      return [isNull(table.seenAt), isNull(table.readAt), isNull(table.archivedAt), AWAKE];
    case 'archived':
      return [isNotNull(table.archivedAt), AWAKE];
    case 'snoozed':
      return [gt(table.snoozedUntil, sql`now()`)];
    case 'all':
    case undefined:
      return [isNull(table.archivedAt), AWAKE];
  }
}

/**
 * A bulk filter's conditions (the status, and each other field given). Named ids without a
 * status are taken whatever their status (archived or snoozed too), or unarchiving by id could
 * never match.
 */
function filterConditions(filter: BulkFilter): SQL[] {
  const conditions =
    filter.ids !== undefined && filter.status === undefined ? [] : statusConditions(filter.status);
  if (filter.type !== undefined) conditions.push(eq(table.type, filter.type));
  if (filter.category !== undefined) conditions.push(eq(table.category, filter.category));
  if (filter.before !== undefined) conditions.push(lt(table.createdAt, filter.before));
  if (filter.ids !== undefined) {
    const ids = filter.ids.map(parseId).filter((id) => id !== null);
    conditions.push(ids.length > 0 ? inArray(table.id, ids) : sql`false`);
  }
  return conditions;
}

/** A timestamp column set now (kept when set already) or cleared; undefined leaves it. */
function stamp(value: boolean | undefined, column: AnyPgColumn): SQL | null | undefined {
  return value === undefined ? undefined : value ? sql`coalesce(${column}, now())` : null;
}

/** The timestamp column behind each flag of a bulk change. */
const FLAG_COLUMNS = [
  ['read', table.readAt],
  ['seen', table.seenAt],
  ['archived', table.archivedAt],
] as const;

@Injectable()
export class NotificationsDrizzleRepository extends NotificationsRepository {
  constructor(private readonly database: Database) {
    super();
  }

  /** The recipient's live rows: not deleted, not expired (snoozed or not). */
  private visible(recipient: Recipient): SQL {
    return and(
      eq(table.tenantId, recipient.tenantId ?? ''),
      eq(table.userId, recipient.userId),
      isNull(table.deletedAt),
      or(isNull(table.expiresAt), gt(table.expiresAt, sql`now()`)),
    )!;
  }

  /**
   * Commit order = id order, per recipient. Each transaction first takes a transaction-scoped
   * advisory lock per recipient (in a fixed order, so two batches cannot deadlock), then draws ids
   * from the identity sequence (CACHE 1). The locks are released only after the commit is visible,
   * so a later writer for the same recipient draws its ids after every earlier id is visible.
   */
  async insertMany(given: NotificationDraft[]): Promise<StoredDraft[]> {
    if (given.length === 0) return [];
    return this.database.transaction(
      lockRecipients(given.map((draft) => draft.recipient)),
      async (query) => {
        const plans = await planReplacements(query, given);
        // A templated draft that joins a group is rendered again with the group's count and actors.
        const drafts = given.map((draft, index) =>
          draft.regroup && plans[index].groupCount > 1
            ? {
                ...draft,
                ...draft.regroup({ count: plans[index].groupCount, actors: plans[index].actors }),
              }
            : draft,
        );
        const stored: (StoredDraft | undefined)[] = [];
        for (let start = 0; start < drafts.length; start += INSERT_CHUNK) {
          const chunk = drafts.slice(start, start + INSERT_CHUNK);
          const chunkPlans = plans.slice(start, start + INSERT_CHUNK);
          const rows = await query<InsertedRow>(STORE_DRAFTS, columnsOf(chunk, chunkPlans));
          // The rows follow the drafts they come from, in order: walk both.
          let next = 0;
          for (const [index, draft] of chunk.entries()) {
            const row = rows[next] as InsertedRow | undefined;
            const mine =
              row !== undefined &&
              row.idempotency_key === draft.idempotencyKey &&
              row.user_id === draft.recipient.userId &&
              row.tenant_id === (draft.recipient.tenantId ?? '');
            if (mine) next += 1;
            stored.push(
              mine
                ? {
                    notification: fromDraft(draft, chunkPlans[index], row.id, row.created_at),
                    created: true,
                    previousId: row.previous_id,
                  }
                : undefined,
            );
          }
        }
        await this.removeReplaced(query, stored, plans);
        // Keys the recipient had already, or that an earlier draft of this batch stored.
        const others = drafts.filter((_, index) => stored[index] === undefined);
        const existing = others.length > 0 ? await this.findExisting(query, others) : [];
        let found = 0;
        return stored.map(
          (entry) => entry ?? { notification: fromRaw(existing[found++]), created: false },
        );
      },
    );
  }

  /**
   * Deletes what the created drafts replaced or took into their group, and marks each with it. A
   * draft that was stored already (a redelivery) replaces nothing, nor does one chained to it.
   */
  private async removeReplaced(
    query: RawQuery,
    stored: (StoredDraft | undefined)[],
    plans: Replacement[],
  ): Promise<void> {
    const ids: string[] = [];
    for (const [index, entry] of stored.entries()) {
      const replaces = plans[index].replaces;
      if (!entry || !replaces) continue;
      const id = 'id' in replaces ? replaces.id : stored[replaces.draft]?.notification.id;
      if (id === undefined) continue;
      entry.replaced = id;
      ids.push(id);
    }
    if (ids.length === 0) return;
    await query(
      'UPDATE notifications SET deleted_at = now() WHERE id = ANY($1::bigint[]) AND deleted_at IS NULL',
      [ids],
    );
  }

  /** The stored rows that have the drafts' keys (a statement after the INSERT sees its rows). */
  private async findExisting(query: RawQuery, drafts: NotificationDraft[]): Promise<RawRow[]> {
    const rows = await query<RawRow | { id: null }>(
      `SELECT x.*, x.id::text AS id
      FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS v(t, u, k, n)
      LEFT JOIN notifications x
        ON x.tenant_id = v.t AND x.user_id = v.u AND x.idempotency_key = v.k
      ORDER BY v.n`,
      [
        drafts.map((draft) => draft.recipient.tenantId ?? ''),
        drafts.map((draft) => draft.recipient.userId),
        drafts.map((draft) => draft.idempotencyKey),
      ],
    );
    // Gone since the INSERT found it (the expiry purge): the batch fails, and is stored again.
    if (rows.some((row) => row.id === null)) {
      throw new Error('a stored notification vanished while its duplicate was being stored');
    }
    return rows as RawRow[];
  }

  async list(recipient: Recipient, query: InboxQuery): Promise<InboxPage> {
    const conditions: (SQL | undefined)[] = [
      this.visible(recipient),
      ...statusConditions(query.status),
    ];
    if (query.type) conditions.push(eq(table.type, query.type));
    if (query.category) conditions.push(eq(table.category, query.category));
    return this.page(conditions, query);
  }

  search(query: NotificationSearch): Promise<InboxPage> {
    const conditions: (SQL | undefined)[] = [
      eq(table.tenantId, query.tenantId ?? ''),
      query.userId === undefined ? undefined : eq(table.userId, query.userId),
      query.type === undefined ? undefined : eq(table.type, query.type),
      isNull(table.deletedAt),
      or(isNull(table.expiresAt), gt(table.expiresAt, sql`now()`)),
    ];
    return this.page(conditions, query);
  }

  async count(tenantId: string | null | undefined): Promise<number> {
    const [row] = await this.database.run((db) =>
      db
        .select({ count: sql<number>`count(*)::int` })
        .from(table)
        .where(
          and(
            tenantId === undefined ? undefined : eq(table.tenantId, tenantId ?? ''),
            isNull(table.deletedAt),
          ),
        ),
    );
    return Number(row.count);
  }

  /** Newest first, `limit` at a time, continuing below `cursor` (an id). */
  private async page(
    conditions: (SQL | undefined)[],
    { cursor, limit }: { cursor?: string; limit: number },
  ): Promise<InboxPage> {
    if (cursor !== undefined) {
      const below = parseId(cursor);
      if (below === null) return { items: [], nextCursor: null };
      conditions.push(lt(table.id, below));
    }
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(and(...conditions))
        .orderBy(desc(table.id))
        .limit(limit + 1),
    );
    const items = rows.slice(0, limit).map(toNotification);
    return { items, nextCursor: rows.length > limit ? items[items.length - 1].id : null };
  }

  async unreadStates(recipients: Recipient[]): Promise<Map<string, UnreadState>> {
    if (recipients.length === 0) return new Map();
    const tenants = sql.param(recipients.map((recipient) => recipient.tenantId ?? ''));
    const users = sql.param(recipients.map((recipient) => recipient.userId));
    // Index scans per recipient (notifications_unread_idx, notifications_unseen_idx,
    // notifications_inbox_idx backwards), in one statement, so the counts, the newest id and the
    // next expiry are of the same moment.
    const rows = await this.database.run((db) =>
      queryRows<{
        tenantId: string;
        userId: string;
        count: number;
        unseen: number;
        position: string | null;
        nextExpiry: Date | string | null;
      }>(
        db,
        sql`SELECT v.t AS "tenantId", v.u AS "userId", (
            SELECT count(*)::int FROM notifications n
            WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.read_at IS NULL
              AND n.archived_at IS NULL AND n.deleted_at IS NULL
              AND (n.expires_at IS NULL OR n.expires_at > now())
              AND (n.snoozed_until IS NULL OR n.snoozed_until <= now())
          ) AS count, (
            SELECT count(*)::int FROM notifications n
            WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.seen_at IS NULL
              AND n.read_at IS NULL AND n.archived_at IS NULL AND n.deleted_at IS NULL
              AND (n.expires_at IS NULL OR n.expires_at > now())
              AND (n.snoozed_until IS NULL OR n.snoozed_until <= now())
          ) AS unseen, (
            SELECT max(n.id)::text FROM notifications n
            WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.deleted_at IS NULL
          ) AS position, (
            SELECT min(n.expires_at) FROM notifications n
            WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.deleted_at IS NULL
              AND n.read_at IS NULL AND n.archived_at IS NULL
              AND n.expires_at > now()
          ) AS "nextExpiry"
          FROM unnest(${tenants}::text[], ${users}::text[]) AS v(t, u)`,
      ),
    );
    return new Map(
      rows.map((row) => [
        recipientKey({ tenantId: row.tenantId || null, userId: row.userId }),
        {
          count: Number(row.count),
          unseen: Number(row.unseen),
          position: row.position ?? '0',
          nextExpiry: row.nextExpiry === null ? null : new Date(row.nextExpiry),
        },
      ]),
    );
  }

  async changeState(
    recipient: Recipient,
    id: string,
    change: StateChange,
  ): Promise<Notification | null> {
    const key = parseId(id);
    if (key === null) return null;
    const [row] = await this.database.run((db) =>
      db
        .update(table)
        .set({
          readAt: stamp(change.read, table.readAt),
          seenAt: stamp(change.seen, table.seenAt),
          archivedAt: stamp(change.archived, table.archivedAt),
          snoozedUntil: change.snoozedUntil,
        })
        .where(and(this.visible(recipient), eq(table.id, key)))
        .returning(),
    );
    return row ? toNotification(row) : null;
  }

  async interact(
    recipient: Recipient,
    id: string,
    actionId: string,
  ): Promise<Notification | 'no-notification' | 'no-action'> {
    const key = parseId(id);
    if (key === null) return 'no-notification';
    const [row] = await this.database.run((db) =>
      db
        .update(table)
        .set({
          interactedAt: sql`now()`,
          interaction: actionId,
          readAt: sql`coalesce(${table.readAt}, now())`,
        })
        .where(
          and(
            this.visible(recipient),
            eq(table.id, key),
            sql`${table.actions} @> ${JSON.stringify([{ id: actionId }])}::jsonb`,
          ),
        )
        .returning(),
    );
    if (row) return toNotification(row);
    const [found] = await this.database.run((db) =>
      db
        .select({ id: table.id })
        .from(table)
        .where(and(this.visible(recipient), eq(table.id, key))),
    );
    return found ? 'no-action' : 'no-notification';
  }

  async bulkUpdate(
    recipient: Recipient,
    filter: BulkFilter,
    set: BulkSet,
  ): Promise<{ updated: number; upTo: string | null; at: Date }> {
    const flags = FLAG_COLUMNS.filter(([flag]) => set[flag] !== undefined);
    if (flags.length === 0) return { updated: 0, upTo: null, at: new Date() };
    // A flag set already keeps its first time (another flag of the same change may be new).
    const assignments = flags.map(([flag, column]) =>
      set[flag]
        ? sql`${sql.identifier(column.name)} = coalesce(${column}, now())`
        : sql`${sql.identifier(column.name)} = NULL`,
    );
    // Only rows it changes: a flag set where it was not, cleared where it was.
    const changes = or(
      ...flags.map(([flag, column]) => (set[flag] ? isNull(column) : isNotNull(column))),
    );
    const where = and(this.visible(recipient), ...filterConditions(filter), changes);
    // One row back, however many changed: a user may have 100,000 unread.
    const [row] = await this.database.run((db) =>
      queryRows<{ updated: number; upTo: string | null; at: Date | string }>(
        db,
        sql`WITH changed AS (
            UPDATE notifications SET ${sql.join(assignments, sql`, `)} WHERE ${where} RETURNING id
          )
          SELECT count(*)::int AS updated, max(id)::text AS "upTo", now() AS at FROM changed`,
      ),
    );
    return { updated: Number(row.updated), upTo: row.upTo, at: new Date(row.at) };
  }

  async wakeSnoozed(limit: number): Promise<{ woken: number; inInbox: Notification[] }> {
    const rows = await this.database.run((db) =>
      queryRows<RawRow & { in_inbox: boolean }>(
        db,
        sql`UPDATE notifications SET snoozed_until = NULL WHERE id IN (
            SELECT id FROM notifications
            WHERE snoozed_until IS NOT NULL AND snoozed_until <= now()
            ORDER BY snoozed_until LIMIT ${limit} FOR UPDATE SKIP LOCKED
          ) RETURNING *, id::text AS id, deleted_at IS NULL AND archived_at IS NULL
            AND (expires_at IS NULL OR expires_at > now()) AS in_inbox`,
      ),
    );
    return { woken: rows.length, inInbox: rows.filter((row) => row.in_inbox).map(fromRaw) };
  }

  async listAfter(recipient: Recipient, afterId: string, limit: number): Promise<Notification[]> {
    const after = afterId === '0' ? 0n : parseId(afterId);
    if (after === null) return [];
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(and(this.visible(recipient), AWAKE, gt(table.id, after)))
        .orderBy(asc(table.id))
        .limit(limit),
    );
    return rows.map(toNotification);
  }

  async reached(recipient: Recipient, id: string): Promise<boolean> {
    const at = parseId(id);
    if (at === null) return id === '0';
    const rows = await this.database.run((db) =>
      db
        .select({ id: table.id })
        .from(table)
        .where(
          and(
            eq(table.tenantId, recipient.tenantId ?? ''),
            eq(table.userId, recipient.userId),
            gte(table.id, at),
          ),
        )
        .limit(1),
    );
    return rows.length > 0;
  }

  async purgeExpired(before: Date, limit: number): Promise<number> {
    const rows = await this.database.run((db) =>
      queryRows<{ id: unknown }>(
        db,
        sql`DELETE FROM notifications WHERE id IN (
          SELECT id FROM notifications
          WHERE expires_at IS NOT NULL AND expires_at < ${before.toISOString()}::timestamptz
          LIMIT ${limit}
        ) RETURNING id`,
      ),
    );
    return rows.length;
  }

  async delete(recipient: Recipient, id: string): Promise<boolean> {
    const key = parseId(id);
    if (key === null) return false;
    const rows = await this.database.run((db) =>
      db
        .update(table)
        .set({ deletedAt: sql`now()` })
        .where(and(this.visible(recipient), eq(table.id, key)))
        .returning({ id: table.id }),
    );
    return rows.length > 0;
  }
}
