import { Injectable } from '@nestjs/common';
import { and, eq, sql } from 'drizzle-orm';
import { canonicalTimeZone } from '../../common/time-zone';
import { Database } from '../../database/database';
import { preferences as table } from '../../database/schema';
import { Recipient, recipientKey } from '../notification';
import { DeliveryPreferences, Preferences, PreferencesRepository } from './preferences.repository';

@Injectable()
export class PreferencesDrizzleRepository extends PreferencesRepository {
  constructor(private readonly database: Database) {
    super();
  }

  async get(recipient: Recipient): Promise<Preferences> {
    const [row] = await this.database.run((db) =>
      db.select().from(table).where(this.of(recipient)),
    );
    return {
      mutedTypes: row?.mutedTypes ?? [],
      mutedCategories: row?.mutedCategories ?? [],
      locale: row?.locale ?? null,
      // Null for a zone Intl no longer knows (stored before an ICU update), which a PUT of what
      // GET answered would have refused; templates write dates in the server's zone for it.
      timeZone: canonicalTimeZone(row?.timeZone ?? null),
    };
  }

  async set(recipient: Recipient, preferences: Preferences): Promise<Preferences> {
    const { mutedTypes, mutedCategories, locale, timeZone } = preferences;
    await this.database.run((db) =>
      db
        .insert(table)
        .values({ ...this.keyOf(recipient), mutedTypes, mutedCategories, locale, timeZone })
        .onConflictDoUpdate({
          target: [table.tenantId, table.userId],
          set: { mutedTypes, mutedCategories, locale, timeZone, updatedAt: sql`now()` },
        }),
    );
    return { mutedTypes, mutedCategories, locale, timeZone };
  }

  async deliveryOf(recipients: Recipient[]): Promise<Map<string, DeliveryPreferences>> {
    if (recipients.length === 0) return new Map();
    // One parameter per column, whatever the number of recipients in the batch.
    const tenants = sql.param(recipients.map((recipient) => recipient.tenantId ?? ''));
    const users = sql.param(recipients.map((recipient) => recipient.userId));
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(
          sql`(${table.tenantId}, ${table.userId}) IN (SELECT * FROM unnest(${tenants}::text[], ${users}::text[]))`,
        ),
    );
    return new Map(
      rows
        .filter(
          (row) =>
            row.mutedTypes.length > 0 ||
            row.mutedCategories.length > 0 ||
            row.locale !== null ||
            row.timeZone !== null,
        )
        .map((row) => [
          recipientKey({ tenantId: row.tenantId || null, userId: row.userId }),
          {
            mutedTypes: row.mutedTypes,
            mutedCategories: row.mutedCategories,
            locale: row.locale,
            timeZone: row.timeZone,
          },
        ]),
    );
  }

  private keyOf(recipient: Recipient) {
    return { tenantId: recipient.tenantId ?? '', userId: recipient.userId };
  }

  private of(recipient: Recipient) {
    return and(eq(table.tenantId, recipient.tenantId ?? ''), eq(table.userId, recipient.userId));
  }
}
