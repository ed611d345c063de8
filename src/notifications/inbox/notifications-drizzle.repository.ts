import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { and, asc, desc, eq, gt, gte, isNotNull, isNull, lt, or, sql, SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { Database, Drizzle, queryRows } from '../../database/database';
import { NotificationRow, notifications as table } from '../../database/schema';
import {
  compareIds,
  InboxPage,
  InboxQuery,
  Notification,
  NotificationDraft,
  NotificationSearch,
  Priority,
  Recipient,
  recipientKey,
  StateChange,
  UnreadState,
} from '../notification';
import { NotificationsRepository, StoredDraft } from './notifications.repository';

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
  };
}

function draftKey(draft: NotificationDraft): string {
  return `${recipientKey(draft.recipient)}\u0000${draft.idempotencyKey}`;
}

function rowKey(row: { tenantId: string; userId: string; idempotencyKey: string }): string {
  return `${row.tenantId}\u0000${row.userId}\u0000${row.idempotencyKey}`;
}

/** A signed 64-bit advisory-lock key per recipient (a collision only serialises two users). */
function lockKey(recipient: Recipient): bigint {
  return BigInt.asIntN(
    64,
    createHash('sha256').update(recipientKey(recipient)).digest().readBigUInt64BE(),
  );
}

/**
 * Locks every recipient, in ascending key order (so two transactions cannot deadlock), with one
 * parameter whatever their number.
 */
function lockRecipients(recipients: Recipient[]): SQL {
  const keys = [...new Set(recipients.map(lockKey))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const array = sql.param(keys.map((key) => key.toString()));
  return sql`SELECT pg_advisory_xact_lock(k)
    FROM unnest(${array}::bigint[]) WITH ORDINALITY AS v(k, n) ORDER BY n`;
}

/**
 * Each recipient's newest notification id, null for one without any. Not deleted ones, as the
 * stream position (`unreadStates`) does not count them either, and so the inbox index serves it.
 */
function newestIds(recipients: Recipient[]): SQL {
  const unique = [...new Map(recipients.map((r) => [recipientKey(r), r])).values()];
  const tenants = sql.param(unique.map((recipient) => recipient.tenantId ?? ''));
  const users = sql.param(unique.map((recipient) => recipient.userId));
  return sql`SELECT v.t AS "tenantId", v.u AS "userId", (
      SELECT max(n.id)::text FROM notifications n
      WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.deleted_at IS NULL
    ) AS id
    FROM unnest(${tenants}::text[], ${users}::text[]) AS v(t, u)`;
}

/** What the bulk insert returns; the rest of each row is the draft itself. */
interface InsertedRow {
  id: string | number | bigint;
  tenantId: string;
  userId: string;
  idempotencyKey: string;
  createdAt: Date | string;
}

/**
 * One INSERT for many rows with a parameter per column (arrays, unnested in the database): cheap
 * to build and to parse whatever the batch size, where a VALUES list costs ten parameters a row.
 */
function insertIgnoringDuplicates(drafts: NotificationDraft[]): SQL {
  const column = (value: (draft: NotificationDraft) => string | null) =>
    sql`${sql.param(drafts.map(value))}::text[]`;
  return sql`
    INSERT INTO notifications
      (tenant_id, user_id, idempotency_key, type, title, body, data, priority, topic, expires_at)
    SELECT t, u, k, ty, ti, b, d::jsonb, p, tp, e::timestamptz
    FROM unnest(
      ${column((d) => d.recipient.tenantId ?? '')}, ${column((d) => d.recipient.userId)},
      ${column((d) => d.idempotencyKey)}, ${column((d) => d.type)}, ${column((d) => d.title)},
      ${column((d) => d.body)}, ${column((d) => JSON.stringify(d.data))},
      ${column((d) => d.priority)}, ${column((d) => d.topic)},
      ${column((d) => d.expiresAt?.toISOString() ?? null)}
    ) AS v(t, u, k, ty, ti, b, d, p, tp, e)
    ON CONFLICT (tenant_id, user_id, idempotency_key) DO NOTHING
    RETURNING id, tenant_id AS "tenantId", user_id AS "userId",
      idempotency_key AS "idempotencyKey", created_at AS "createdAt"`;
}

function fromDraft(draft: NotificationDraft, row: InsertedRow): Notification {
  return {
    id: String(row.id),
    userId: draft.recipient.userId,
    tenantId: draft.recipient.tenantId,
    type: draft.type,
    title: draft.title,
    body: draft.body,
    data: draft.data,
    priority: draft.priority,
    topic: draft.topic,
    createdAt: new Date(row.createdAt),
    readAt: null,
    archivedAt: null,
    expiresAt: draft.expiresAt,
  };
}

@Injectable()
export class NotificationsDrizzleRepository extends NotificationsRepository {
  constructor(private readonly database: Database) {
    super();
  }

  /** The recipient's live rows: not deleted, not expired. */
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
  async insertMany(drafts: NotificationDraft[]): Promise<StoredDraft[]> {
    if (drafts.length === 0) return [];
    return this.database.run((db) =>
      db.transaction(async (tx) => {
        await tx.execute(lockRecipients(drafts.map((draft) => draft.recipient)));
        // Read under the locks: no other writer adds to these recipients until the commit.
        const newest = new Map(
          (
            await queryRows<{ tenantId: string; userId: string; id: string | null }>(
              tx,
              newestIds(drafts.map((draft) => draft.recipient)),
            )
          ).map((row) => [
            recipientKey({ tenantId: row.tenantId || null, userId: row.userId }),
            row.id,
          ]),
        );
        const created = new Map<string, StoredDraft>();
        for (let start = 0; start < drafts.length; start += INSERT_CHUNK) {
          const chunk = drafts.slice(start, start + INSERT_CHUNK);
          const rows = await queryRows<InsertedRow>(tx, insertIgnoringDuplicates(chunk));
          // The first draft of a key is the one stored (ON CONFLICT keeps the first row).
          const byKey = new Map<string, NotificationDraft>();
          for (const draft of chunk) {
            if (!byKey.has(draftKey(draft))) byKey.set(draftKey(draft), draft);
          }
          for (const row of rows) {
            const key = rowKey(row);
            created.set(key, {
              notification: fromDraft(byKey.get(key)!, row),
              created: true,
              previousId: null,
            });
          }
        }
        // Each new row's predecessor: ids of one recipient in this transaction grow in row order.
        for (const entry of [...created.values()].sort((a, b) =>
          compareIds(a.notification.id, b.notification.id),
        )) {
          const recipient = recipientKey(entry.notification);
          entry.previousId = newest.get(recipient) ?? null;
          newest.set(recipient, entry.notification.id);
        }
        const existing = await this.findExisting(
          tx,
          drafts.filter((draft) => !created.has(draftKey(draft))),
        );
        const answered = new Set<string>();
        return drafts.map((draft) => {
          const key = draftKey(draft);
          const fresh = created.get(key);
          // The same key twice in one batch: only the first of them created the row.
          const first = !answered.has(key);
          answered.add(key);
          if (!fresh) return { notification: existing.get(key)!, created: false };
          return first ? fresh : { notification: fresh.notification, created: false };
        });
      }),
    );
  }

  /** The stored rows of drafts whose idempotency key their recipient already had. */
  private async findExisting(
    tx: Parameters<Parameters<Drizzle['transaction']>[0]>[0],
    drafts: NotificationDraft[],
  ): Promise<Map<string, Notification>> {
    if (drafts.length === 0) return new Map();
    const column = (value: (draft: NotificationDraft) => string) =>
      sql`${sql.param(drafts.map(value))}::text[]`;
    const rows = await tx
      .select()
      .from(table)
      .where(
        sql`(${table.tenantId}, ${table.userId}, ${table.idempotencyKey}) IN (
          SELECT * FROM unnest(${column((d) => d.recipient.tenantId ?? '')},
            ${column((d) => d.recipient.userId)}, ${column((d) => d.idempotencyKey)}))`,
      );
    return new Map(rows.map((row) => [rowKey(row), toNotification(row)]));
  }

  async list(recipient: Recipient, query: InboxQuery): Promise<InboxPage> {
    const conditions: (SQL | undefined)[] = [this.visible(recipient)];
    switch (query.status) {
      case 'unread':
        conditions.push(isNull(table.readAt), isNull(table.archivedAt));
        break;
      case 'read':
        conditions.push(isNotNull(table.readAt), isNull(table.archivedAt));
        break;
      case 'all':
        conditions.push(isNull(table.archivedAt));
        break;
      case 'archived':
        conditions.push(isNotNull(table.archivedAt));
        break;
    }
    if (query.type) conditions.push(eq(table.type, query.type));
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
    // Index scans per recipient (notifications_unread_idx, notifications_inbox_idx backwards), in
    // one statement, so the count, the newest id and the next expiry are of the same moment.
    const rows = await this.database.run((db) =>
      queryRows<{
        tenantId: string;
        userId: string;
        count: number;
        position: string | null;
        nextExpiry: Date | string | null;
      }>(
        db,
        sql`SELECT v.t AS "tenantId", v.u AS "userId", (
            SELECT count(*)::int FROM notifications n
            WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.read_at IS NULL
              AND n.archived_at IS NULL AND n.deleted_at IS NULL
              AND (n.expires_at IS NULL OR n.expires_at > now())
          ) AS count, (
            SELECT max(n.id)::text FROM notifications n
            WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.deleted_at IS NULL
          ) AS position, (
            SELECT min(n.expires_at) FROM notifications n
            WHERE n.tenant_id = v.t AND n.user_id = v.u AND n.read_at IS NULL
              AND n.archived_at IS NULL AND n.deleted_at IS NULL AND n.expires_at > now()
          ) AS "nextExpiry"
          FROM unnest(${tenants}::text[], ${users}::text[]) AS v(t, u)`,
      ),
    );
    return new Map(
      rows.map((row) => [
        recipientKey({ tenantId: row.tenantId || null, userId: row.userId }),
        {
          count: Number(row.count),
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
    const stamp = (value: boolean | undefined, column: AnyPgColumn) =>
      value === undefined ? undefined : value ? sql`coalesce(${column}, now())` : null;
    const [row] = await this.database.run((db) =>
      db
        .update(table)
        .set({
          readAt: stamp(change.read, table.readAt),
          archivedAt: stamp(change.archived, table.archivedAt),
        })
        .where(and(this.visible(recipient), eq(table.id, key)))
        .returning(),
    );
    return row ? toNotification(row) : null;
  }

  async markAllRead(
    recipient: Recipient,
  ): Promise<{ updated: number; upTo: string | null; at: Date }> {
    // One row back, however many changed: a user may have 100,000 unread.
    const [row] = await this.database.run((db) =>
      queryRows<{ updated: number; upTo: string | null; at: Date | string }>(
        db,
        sql`WITH changed AS (
            UPDATE notifications SET read_at = now()
            WHERE tenant_id = ${recipient.tenantId ?? ''} AND user_id = ${recipient.userId}
              AND read_at IS NULL AND archived_at IS NULL AND deleted_at IS NULL
              AND (expires_at IS NULL OR expires_at > now())
            RETURNING id
          )
          SELECT count(*)::int AS updated, max(id)::text AS "upTo", now() AS at FROM changed`,
      ),
    );
    return { updated: Number(row.updated), upTo: row.upTo, at: new Date(row.at) };
  }

  async listAfter(recipient: Recipient, afterId: string, limit: number): Promise<Notification[]> {
    const after = afterId === '0' ? 0n : parseId(afterId);
    if (after === null) return [];
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(and(this.visible(recipient), gt(table.id, after)))
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
