import { rm } from 'node:fs/promises';
import { Client } from 'pg';
import { connect } from 'amqplib';
import { rabbitmqctl, TEST_AMQP_URL } from './amqp';
import { testDatabaseUrl } from './storage';

/**
 * Removes what the run left behind: its temp files, and any schema, queue or exchange of this run
 * that a failed test did not remove.
 */
export default async function globalTeardown(): Promise<void> {
  const root = process.env.HERALD_TEST_ROOT;
  if (root) await rm(root, { recursive: true, force: true });
  await removeBrokerObjects(`herald_test_${process.env.HERALD_TEST_RUN}_`);
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

async function removeBrokerObjects(prefix: string): Promise<void> {
  const names = async (list: string) =>
    (await rabbitmqctl(list, 'name', '--quiet', '--no-table-headers'))
      .split('\n')
      .filter((name) => name.startsWith(prefix));
  const connection = await connect(TEST_AMQP_URL);
  try {
    const channel = await connection.createChannel();
    for (const queue of await names('list_queues')) await channel.deleteQueue(queue);
    for (const exchange of await names('list_exchanges')) await channel.deleteExchange(exchange);
  } finally {
    await connection.close();
  }
}
