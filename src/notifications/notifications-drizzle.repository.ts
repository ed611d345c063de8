import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { and, desc, eq, gt, isNotNull, isNull, lt, or, sql, SQL } from 'drizzle-orm';
import type { AnyPgColumn } from 'drizzle-orm/pg-core';
import { Database } from '../database/database';
import { NotificationRow, notifications as table } from '../database/schema';
import type {
  InboxPage,
  InboxQuery,
  Notification,
  NotificationDraft,
  Priority,
  Recipient,
  StateChange,
} from './notification';
import { NotificationsRepository, StoredDraft } from './notifications.repository';

/** Rows per INSERT statement: 15 parameters a row stays well under PostgreSQL's 65,535. */
const INSERT_CHUNK = 2000;
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

function recipientKey(recipient: Recipient): string {
  return `${recipient.tenantId ?? ''}\u0000${recipient.userId}`;
}

/** A signed 64-bit advisory-lock key per recipient (a collision only serialises two users). */
function lockKey(recipient: Recipient): bigint {
  return BigInt.asIntN(
    64,
    createHash('sha256').update(recipientKey(recipient)).digest().readBigUInt64BE(),
  );
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
        const keys = [...new Set(drafts.map((draft) => lockKey(draft.recipient)))].sort((a, b) =>
          a < b ? -1 : a > b ? 1 : 0,
        );
        const values = sql.join(
          keys.map((key) => sql`(${key.toString()}::bigint)`),
          sql`, `,
        );
        await tx.execute(sql`SELECT pg_advisory_xact_lock(k) FROM (VALUES ${values}) AS v(k)`);

        const stored = new Map<string, StoredDraft>();
        const keyOf = (tenantId: string, userId: string, idempotencyKey: string) =>
          `${tenantId}\u0000${userId}\u0000${idempotencyKey}`;
        for (let start = 0; start < drafts.length; start += INSERT_CHUNK) {
          const rows = await tx
            .insert(table)
            .values(
              drafts.slice(start, start + INSERT_CHUNK).map((draft) => ({
                tenantId: draft.recipient.tenantId ?? '',
                userId: draft.recipient.userId,
                idempotencyKey: draft.idempotencyKey,
                type: draft.type,
                title: draft.title,
                body: draft.body,
                data: draft.data,
                priority: draft.priority,
                topic: draft.topic,
                expiresAt: draft.expiresAt,
              })),
            )
            .onConflictDoNothing({ target: [table.tenantId, table.userId, table.idempotencyKey] })
            .returning();
          for (const row of rows) {
            stored.set(keyOf(row.tenantId, row.userId, row.idempotencyKey), {
              notification: toNotification(row),
              created: true,
            });
          }
        }

        const duplicates = drafts.filter(
          (draft) =>
            !stored.has(
              keyOf(draft.recipient.tenantId ?? '', draft.recipient.userId, draft.idempotencyKey),
            ),
        );
        if (duplicates.length > 0) {
          const existing = await tx
            .select()
            .from(table)
            .where(
              or(
                ...duplicates.map((draft) =>
                  and(
                    eq(table.tenantId, draft.recipient.tenantId ?? ''),
                    eq(table.userId, draft.recipient.userId),
                    eq(table.idempotencyKey, draft.idempotencyKey),
                  ),
                ),
              ),
            );
          for (const row of existing) {
            stored.set(keyOf(row.tenantId, row.userId, row.idempotencyKey), {
              notification: toNotification(row),
              created: false,
            });
          }
        }

        return drafts.map((draft) => {
          const key = keyOf(
            draft.recipient.tenantId ?? '',
            draft.recipient.userId,
            draft.idempotencyKey,
          );
          const result = stored.get(key)!;
          // The same key twice in one batch: only the first of them created the row.
          stored.set(key, { ...result, created: false });
          return result;
        });
      }),
    );
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
    if (query.cursor !== undefined) {
      const cursor = parseId(query.cursor);
      if (cursor === null) return { items: [], nextCursor: null };
      conditions.push(lt(table.id, cursor));
    }
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(and(...conditions))
        .orderBy(desc(table.id))
        .limit(query.limit + 1),
    );
    const items = rows.slice(0, query.limit).map(toNotification);
    return {
      items,
      nextCursor: rows.length > query.limit ? items[items.length - 1].id : null,
    };
  }

  async countUnread(recipient: Recipient): Promise<number> {
    const [row] = await this.database.run((db) =>
      db
        .select({ count: sql<number>`count(*)::int` })
        .from(table)
        .where(and(this.visible(recipient), isNull(table.readAt), isNull(table.archivedAt))),
    );
    return row.count;
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

  async markAllRead(recipient: Recipient): Promise<number> {
    const rows = await this.database.run((db) =>
      db
        .update(table)
        .set({ readAt: sql`now()` })
        .where(and(this.visible(recipient), isNull(table.readAt), isNull(table.archivedAt)))
        .returning({ id: table.id }),
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
