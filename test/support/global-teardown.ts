import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { testDatabaseUrl } from './storage';

/** Removes what the run left behind: its temp files and any schema a failed test did not drop. */
export default async function globalTeardown(): Promise<void> {
  const root = process.env.HERALD_TEST_ROOT;
  if (root) await rm(root, { recursive: true, force: true });
  const client = new Client({ connectionString: testDatabaseUrl() });
  await client.connect();
  try {
    const { rows } = await client.query<{ nspname: string }>(
      `SELECT nspname FROM pg_namespace WHERE nspname LIKE $1`,
      [`herald_test_${process.env.HERALD_TEST_RUN}_%`],
    );
    for (const { nspname } of rows) await client.query(`DROP SCHEMA "${nspname}" CASCADE`);
  } finally {
    await client.end();
  }
}
