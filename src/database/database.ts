import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { Logger } from '@nestjs/common';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres';
import { migrate as migrateNodePg } from 'drizzle-orm/node-postgres/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { Client, Pool } from 'pg';
import type { HeraldConfig } from '../config/herald-config';
import * as schema from './schema';
import { translateStorageError } from './storage-errors';

/** The query builder over either driver; only database/ and *-drizzle.repository.ts use it. */
export type Drizzle = PgDatabase<PgQueryResultHKT, typeof schema>;

/** Runs raw SQL on a database or transaction and answers its rows (both drivers give `rows`). */
export async function queryRows<T>(db: Pick<Drizzle, 'execute'>, query: SQL): Promise<T[]> {
  const result: unknown = await db.execute(query);
  return (result as { rows: T[] }).rows;
}

/** Runs one statement of a raw transaction (text with $1…$n placeholders) and answers its rows. */
export type RawQuery = <T>(text: string, values?: unknown[]) => Promise<T[]>;

/** The driver under Drizzle, for Database.transaction. */
type RawClient = { kind: 'postgres'; pool: Pool } | { kind: 'pglite'; pglite: PGlite };

const MIGRATIONS_FOLDER = resolve(__dirname, '../../drizzle');
/** Any fixed number: every Herald instance takes this lock while it migrates. */
const MIGRATION_LOCK = 0x4845524c; // "HERL"

/**
 * One open store: PostgreSQL (pooled) when DATABASE_URL is set, else embedded PGlite in DATA_DIR.
 * Both run the same migrations from drizzle/ into DATABASE_SCHEMA before the first query.
 */
export class Database {
  private static readonly logger = new Logger('Database');

  readonly kind: 'postgres' | 'pglite';

  private constructor(
    readonly db: Drizzle,
    private readonly raw: RawClient,
    private readonly closeClient: () => Promise<void>,
  ) {
    this.kind = raw.kind;
  }

  static async open(config: HeraldConfig['database']): Promise<Database> {
    return config.url
      ? Database.openPostgres(config.url, config.schema)
      : Database.openPglite(config);
  }

  /**
   * Runs queries, turning connection-level failures into StorageUnavailableError (HTTP 503, and
   * a retry for message ingestion) while every other error passes through unchanged.
   */
  run<T>(work: (db: Drizzle) => Promise<T>): Promise<T> {
    return work(this.db).catch(translateStorageError);
  }

  /**
   * One transaction of hand-written SQL on the driver itself, in fewer round trips than Drizzle's
   * (one for BEGIN, one per statement, one for COMMIT): on PostgreSQL `opening`, a statement
   * without parameters (such as taking locks), goes with BEGIN as one simple query, and `work`'s
   * statements are run as they come. Rolled back when `work` or a statement fails; errors are
   * translated as by `run`.
   */
  transaction<T>(opening: string, work: (query: RawQuery) => Promise<T>): Promise<T> {
    const raw = this.raw;
    const done =
      raw.kind === 'pglite'
        ? raw.pglite.transaction(async (tx) => {
            await tx.exec(opening);
            return work(async (text, values) => (await tx.query(text, values)).rows as never[]);
          })
        : Database.postgresTransaction(raw.pool, opening, work);
    return done.catch(translateStorageError);
  }

  private static async postgresTransaction<T>(
    pool: Pool,
    opening: string,
    work: (query: RawQuery) => Promise<T>,
  ): Promise<T> {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      await client.query(`BEGIN; ${opening}`);
      const result = await work(
        async (text, values) => (await client.query(text, values)).rows as never[],
      );
      await client.query('COMMIT');
      return result;
    } catch (error) {
      // Also when BEGIN or COMMIT failed: ROLLBACK outside a transaction only warns. A connection
      // that cannot roll back leaves the pool.
      await client.query('ROLLBACK').catch((failed: unknown) => (broken = failed as Error));
      throw error;
    } finally {
      client.release(broken);
    }
  }

  /** One round trip, for readiness. */
  async ping(): Promise<void> {
    await this.run((db) => db.execute(sql`SELECT 1`));
  }

  async close(): Promise<void> {
    await this.closeClient();
  }

  private static async openPostgres(url: string, schemaName: string): Promise<Database> {
    const options = `-c search_path=${schemaName}`;
    // Migrate on one dedicated connection holding a session lock, so instances starting together
    // apply each migration once.
    const client = new Client({ connectionString: url, options });
    await client.connect();
    try {
      await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${schemaName}"`);
      await migrateNodePg(drizzleNodePg({ client, schema }), {
        migrationsFolder: MIGRATIONS_FOLDER,
        migrationsSchema: schemaName,
      });
    } finally {
      await client.end();
    }
    const pool = new Pool({
      connectionString: url,
      options,
      max: 10,
      // Fail fast while PostgreSQL is down, so callers can retry or answer 503.
      connectionTimeoutMillis: 5000,
    });
    // A client losing its server (a PostgreSQL restart, a network cut) must not crash the
    // process: the pool listens on idle clients only, so a checked-out one (between the statements
    // of a transaction) needs a listener of its own. Its query fails; callers retry.
    pool.on('error', (error) => Database.logger.warn(`PostgreSQL pool: ${error.message}`));
    pool.on('connect', (client) =>
      client.on('error', (error) =>
        Database.logger.warn(`PostgreSQL connection: ${error.message}`),
      ),
    );
    Database.logger.log(`PostgreSQL ready (schema "${schemaName}")`);
    return new Database(drizzleNodePg({ client: pool, schema }), { kind: 'postgres', pool }, () =>
      pool.end(),
    );
  }

  private static async openPglite(config: HeraldConfig['database']): Promise<Database> {
    const dataDir = resolve(config.dataDir, 'pglite');
    await mkdir(dataDir, { recursive: true });
    const started = Date.now();
    const client = await PGlite.create(dataDir);
    try {
      await client.exec(`CREATE SCHEMA IF NOT EXISTS "${config.schema}"`);
      await client.exec(`SET search_path TO "${config.schema}"`);
      const db = drizzlePglite({ client, schema });
      await migratePglite(db, {
        migrationsFolder: MIGRATIONS_FOLDER,
        migrationsSchema: config.schema,
      });
      Database.logger.log(
        `Embedded PGlite ready in ${join(config.dataDir, 'pglite')} (${Date.now() - started} ms)`,
      );
      return new Database(db, { kind: 'pglite', pglite: client }, () => client.close());
    } catch (error) {
      await client.close();
      throw error;
    }
  }
}
