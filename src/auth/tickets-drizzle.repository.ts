import { Injectable } from '@nestjs/common';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { Database } from '../database/database';
import { streamTickets as table } from '../database/schema';
import type { AuthenticatedUser } from './authenticated-user';
import { StoredTicket, TicketsRepository } from './tickets.repository';

/** Used and expired tickets are kept this long (for investigations), then deleted. */
const KEEP_EXPIRED_MS = 60 * 60 * 1000;

@Injectable()
export class TicketsDrizzleRepository extends TicketsRepository {
  constructor(private readonly database: Database) {
    super();
  }

  async save({ hash, user, expiresAt }: StoredTicket): Promise<void> {
    await this.database.run(async (db) => {
      await db.delete(table).where(lt(table.expiresAt, new Date(Date.now() - KEEP_EXPIRED_MS)));
      await db.insert(table).values({
        ticketHash: hash,
        tenantId: user.tenantId ?? '',
        userId: user.userId,
        roles: user.roles,
        tokenExpiresAt: user.expiresAt,
        expiresAt,
      });
    });
  }

  async consume(hash: string): Promise<AuthenticatedUser | null> {
    // One statement: two requests racing for the same ticket cannot both win.
    const [row] = await this.database.run((db) =>
      db
        .update(table)
        .set({ usedAt: sql`now()` })
        .where(
          and(eq(table.ticketHash, hash), isNull(table.usedAt), gt(table.expiresAt, sql`now()`)),
        )
        .returning(),
    );
    if (!row) return null;
    return {
      userId: row.userId,
      tenantId: row.tenantId || null,
      roles: row.roles,
      expiresAt: row.tokenExpiresAt,
    };
  }
}
