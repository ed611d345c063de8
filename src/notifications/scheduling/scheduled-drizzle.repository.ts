import { Injectable } from '@nestjs/common';
import { and, asc, eq, sql } from 'drizzle-orm';
import { Database, queryRows } from '../../database/database';
import { scheduledNotifications as table } from '../../database/schema';
import { ScheduledNotification, ScheduledRepository } from './scheduled.repository';

interface Row {
  tenantId: string;
  id: string;
  recipientsKey: string;
  command: Record<string, unknown>;
  deliverAt: Date | string;
  createdAt: Date | string;
}

function fromRow(row: Row): ScheduledNotification {
  return {
    tenantId: row.tenantId || null,
    id: row.id,
    recipientsKey: row.recipientsKey,
    command: row.command,
    deliverAt: new Date(row.deliverAt),
    createdAt: new Date(row.createdAt),
  };
}

@Injectable()
export class ScheduledDrizzleRepository extends ScheduledRepository {
  constructor(private readonly database: Database) {
    super();
  }

  async schedule(entries: Omit<ScheduledNotification, 'createdAt'>[]): Promise<void> {
    if (entries.length === 0) return;
    await this.database.run((db) =>
      db
        .insert(table)
        .values(entries.map((entry) => ({ ...entry, tenantId: entry.tenantId ?? '' })))
        .onConflictDoNothing(),
    );
  }

  async claimDue(limit: number, leaseMs: number): Promise<ScheduledNotification[]> {
    const rows = await this.database.run((db) =>
      queryRows<Row>(
        db,
        sql`UPDATE scheduled_notifications AS s
          SET claimed_until = now() + ${leaseMs} * interval '1 millisecond'
          FROM (
            SELECT tenant_id, id, recipients_key FROM scheduled_notifications
            WHERE deliver_at <= now() AND (claimed_until IS NULL OR claimed_until < now())
            ORDER BY deliver_at
            LIMIT ${limit}
            FOR UPDATE SKIP LOCKED
          ) AS due
          WHERE s.tenant_id = due.tenant_id AND s.id = due.id
            AND s.recipients_key = due.recipients_key
          RETURNING s.tenant_id AS "tenantId", s.id, s.recipients_key AS "recipientsKey", s.command,
            s.deliver_at AS "deliverAt", s.created_at AS "createdAt"`,
      ),
    );
    return rows.map(fromRow).sort((a, b) => a.deliverAt.getTime() - b.deliverAt.getTime());
  }

  async remove(
    entry: Pick<ScheduledNotification, 'tenantId' | 'id' | 'recipientsKey'>,
  ): Promise<void> {
    await this.database.run((db) =>
      db
        .delete(table)
        .where(
          and(
            eq(table.tenantId, entry.tenantId ?? ''),
            eq(table.id, entry.id),
            eq(table.recipientsKey, entry.recipientsKey),
          ),
        ),
    );
  }

  async cancel(tenantId: string | null, id: string): Promise<boolean> {
    const rows = await this.database.run((db) =>
      db
        .delete(table)
        .where(and(eq(table.tenantId, tenantId ?? ''), eq(table.id, id)))
        .returning({ id: table.id }),
    );
    return rows.length > 0;
  }

  async list(tenantId: string | null, limit: number): Promise<ScheduledNotification[]> {
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(eq(table.tenantId, tenantId ?? ''))
        .orderBy(asc(table.deliverAt))
        .limit(limit),
    );
    return rows.map(fromRow);
  }
}
