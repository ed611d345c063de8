import { Injectable } from '@nestjs/common';
import { and, asc, eq, sql } from 'drizzle-orm';
import { Database } from '../../database/database';
import { templates as table } from '../../database/schema';
import type { Template, TemplateDefinition } from './template';
import { TemplateKey, TemplatesRepository } from './templates.repository';

@Injectable()
export class TemplatesDrizzleRepository extends TemplatesRepository {
  constructor(private readonly database: Database) {
    super();
  }

  async put(key: TemplateKey, definition: TemplateDefinition): Promise<Template> {
    const { defaultLocale, locales } = definition;
    const [row] = await this.database.run((db) =>
      db
        .insert(table)
        .values({ tenantId: key.tenantId ?? '', name: key.name, defaultLocale, locales })
        .onConflictDoUpdate({
          target: [table.tenantId, table.name],
          set: {
            defaultLocale,
            locales,
            revision: sql`${table.revision} + 1`,
            updatedAt: sql`now()`,
          },
        })
        .returning(),
    );
    return fromRow(row);
  }

  async get(key: TemplateKey): Promise<Template | null> {
    const [row] = await this.database.run((db) => db.select().from(table).where(this.of(key)));
    return row ? fromRow(row) : null;
  }

  async list(tenantId: string | null): Promise<Template[]> {
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(eq(table.tenantId, tenantId ?? ''))
        .orderBy(asc(table.name)),
    );
    return rows.map(fromRow);
  }

  async delete(key: TemplateKey): Promise<boolean> {
    const rows = await this.database.run((db) =>
      db.delete(table).where(this.of(key)).returning({ name: table.name }),
    );
    return rows.length > 0;
  }

  async find(keys: TemplateKey[]): Promise<Template[]> {
    if (keys.length === 0) return [];
    const tenants = sql.param(keys.map((key) => key.tenantId ?? ''));
    const names = sql.param(keys.map((key) => key.name));
    const rows = await this.database.run((db) =>
      db
        .select()
        .from(table)
        .where(
          sql`(${table.tenantId}, ${table.name}) IN (SELECT * FROM unnest(${tenants}::text[], ${names}::text[]))`,
        ),
    );
    return rows.map(fromRow);
  }

  private of(key: TemplateKey) {
    return and(eq(table.tenantId, key.tenantId ?? ''), eq(table.name, key.name));
  }
}

function fromRow(row: typeof table.$inferSelect): Template {
  return {
    tenantId: row.tenantId || null,
    name: row.name,
    defaultLocale: row.defaultLocale,
    locales: row.locales,
    revision: row.revision,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
