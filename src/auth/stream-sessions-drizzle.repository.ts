import { Injectable } from '@nestjs/common';
import { and, eq, gt, inArray, lt, sql } from 'drizzle-orm';
import { Database } from '../database/database';
import { streamSessions as table } from '../database/schema';
import type { AuthenticatedUser } from './authenticated-user';
import { StoredStreamSession, StreamSessionsRepository } from './stream-sessions.repository';

@Injectable()
export class StreamSessionsDrizzleRepository extends StreamSessionsRepository {
  constructor(private readonly database: Database) {
    super();
  }

  async save({ hash, tokenHash, user }: StoredStreamSession): Promise<void> {
    await this.database.run(async (db) => {
      await db.delete(table).where(lt(table.expiresAt, sql`now()`));
      await db.insert(table).values({
        sessionHash: hash,
        tokenHash,
        tenantId: user.tenantId ?? '',
        userId: user.userId,
        roles: user.roles,
        expiresAt: user.expiresAt,
      });
    });
  }

  async find(hashes: readonly string[]): Promise<(AuthenticatedUser | null)[]> {
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(and(inArray(table.sessionHash, [...hashes]), gt(table.expiresAt, sql`now()`))),
    );
    const users = new Map(
      rows.map((row) => [
        row.sessionHash,
        {
          userId: row.userId,
          tenantId: row.tenantId || null,
          roles: row.roles,
          expiresAt: row.expiresAt,
        },
      ]),
    );
    return hashes.map((hash) => users.get(hash) ?? null);
  }

  async end(tokenHash: string): Promise<number> {
    const rows = await this.database.run((db) =>
      db.delete(table).where(eq(table.tokenHash, tokenHash)).returning({ hash: table.sessionHash }),
    );
    return rows.length;
  }
}
