import { PGlite } from '@electric-sql/pglite';
import { randomBytes } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Once per test run: a run id (for AMQP prefixes and database schemas, so runs never collide) and
 * an initialised PGlite data directory that each test copies instead of running initdb (~7 s).
 */
export default async function globalSetup(): Promise<void> {
  const started = Date.now();
  const root = await mkdtemp(join(tmpdir(), 'herald-test-'));
  const template = join(root, 'pglite-template');
  const pglite = await PGlite.create(template);
  await pglite.close();
  process.env.HERALD_TEST_RUN = randomBytes(4).toString('hex');
  process.env.HERALD_TEST_ROOT = root;
  process.env.HERALD_TEST_PGLITE_TEMPLATE = template;
  console.log(`\nPGlite template ready in ${Date.now() - started} ms (${root})`);
}
