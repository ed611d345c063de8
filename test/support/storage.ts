import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from 'pg';

export type StorageKind = 'pglite' | 'postgres';
export const STORAGE_KINDS: StorageKind[] = ['pglite', 'postgres'];

export function testDatabaseUrl(): string {
  return process.env.HERALD_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

let counter = 0;

/** A name unique to this run, this test file (worker) and this call. */
export function uniqueName(kind: string): string {
  counter += 1;
  return `herald_test_${process.env.HERALD_TEST_RUN}_${kind}_${process.pid}_${counter}`;
}

export interface TestStorage {
  env: Record<string, string>;
  /** Drops what the storage created (the schema); PGlite files go with the run's temp folder. */
  drop(): Promise<void>;
}

/** Fresh, empty storage of the given kind: its own schema, or its own copy of the PGlite template. */
export async function createTestStorage(kind: StorageKind): Promise<TestStorage> {
  const schema = uniqueName(kind === 'pglite' ? 'lite' : 'pg');
  if (kind === 'pglite') {
    const dataDir = join(process.env.HERALD_TEST_ROOT!, schema);
    await cp(process.env.HERALD_TEST_PGLITE_TEMPLATE!, join(dataDir, 'pglite'), {
      recursive: true,
    });
    return { env: { DATA_DIR: dataDir, DATABASE_SCHEMA: schema }, drop: async () => {} };
  }
  return {
    env: { DATABASE_URL: testDatabaseUrl(), DATABASE_SCHEMA: schema },
    drop: async () => {
      const client = new Client({ connectionString: testDatabaseUrl() });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    },
  };
}
