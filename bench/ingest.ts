/**
 * Ingest throughput: how many notifications per second one Herald stores from a RabbitMQ backlog.
 *
 * It declares Herald's topology under a fresh AMQP_PREFIX, publishes N messages (with publisher
 * confirms) while no Herald runs, then starts the built Herald (`node dist/main.js`, production
 * mode) and times from its start-up log line until the reply to a last request-reply message
 * arrives; then it checks that every row is in the database. PostgreSQL and PGlite by default.
 *
 *   npm run bench:ingest -- [--messages 50000] [--recipients 1] [--storage postgres,pglite]
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { loadConfig } from '../src/config/herald-config';
import { amqpTopology, assertTopology } from '../src/messaging/amqp-topology';

const USAGE = `Usage: npm run bench:ingest -- [--messages N] [--recipients R] [--storage postgres,pglite]

  --messages N      messages to publish before Herald starts (default 50000)
  --recipients R    recipients per message (default 1)
  --storage LIST    postgres, pglite or both (default postgres,pglite)
  --database URL    PostgreSQL for the postgres run (default postgres://postgres@127.0.0.1:5432/test)
  --amqp URL        RabbitMQ (default amqp://guest:guest@127.0.0.1:5672)
  --profile DIR     write Herald's CPU profile (.cpuprofile) into DIR
  -h, --help        this text`;

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    recipients: { type: 'string', default: '1' },
    storage: { type: 'string', default: 'postgres,pglite' },
    database: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    amqp: { type: 'string', default: 'amqp://guest:guest@127.0.0.1:5672' },
    profile: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});

interface Run {
  storage: string;
  messages: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

async function publishBacklog(env: Record<string, string>, messages: number, recipients: number) {
  const topology = amqpTopology(loadConfig(env).amqp);
  const connection = await connect(args.amqp);
  const channel = await connection.createConfirmChannel();
  await assertTopology(channel, topology);
  await channel.purgeQueue(topology.ingestQueue);
  const started = Date.now();
  for (let i = 0; i < messages; i += 1) {
    const body = {
      id: `bench-${i}`,
      recipients: {
        userIds: Array.from({ length: recipients }, (_, r) => `user-${(i + r) % 1000}`),
      },
      type: 'bench.ingest',
      title: `Benchmark notification ${i}`,
      body: 'A body of a typical length for a notification, some seventy characters.',
      data: { sequence: i, sentAt: Date.now() },
    };
    const full = !channel.publish(
      topology.exchange,
      'notification.bench',
      Buffer.from(JSON.stringify(body)),
      {
        contentType: 'application/json',
        persistent: true,
      },
    );
    if (full) await new Promise((resolve) => channel.once('drain', resolve));
    if (i % 5000 === 4999) process.stderr.write(`  published ${i + 1}/${messages}\n`);
  }
  await channel.waitForConfirms();
  process.stderr.write(`  backlog of ${messages} published in ${Date.now() - started} ms\n`);
  return {
    cleanup: async () => {
      await channel.deleteQueue(topology.ingestQueue);
      await channel.deleteQueue(topology.deadLetterQueue);
      await channel.deleteExchange(topology.exchange);
      await channel.deleteExchange(topology.deadLetterExchange);
      await channel.deleteExchange(topology.realtimeExchange);
      await connection.close();
    },
  };
}

/** Starts `node dist/main.js`; resolves when it logs that it listens. */
function startHerald(env: Record<string, string>) {
  const flags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
  const child = spawn(process.execPath, [...flags, 'dist/main.js'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Listening on')) resolve();
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`Herald exited (${code}):\n${output}`)));
  });
  return { child, listening };
}

/** Rows in the store after Herald stopped (PGlite allows one process at a time). */
async function countRows(storage: string, env: Record<string, string>): Promise<number> {
  const sql = `SELECT count(*)::int AS n FROM "${env.DATABASE_SCHEMA}".notifications`;
  if (storage === 'postgres') {
    const client = new Client({ connectionString: args.database });
    await client.connect();
    try {
      return (await client.query<{ n: number }>(sql)).rows[0].n;
    } finally {
      await client.end();
    }
  }
  const pglite = await PGlite.create(join(env.DATA_DIR, 'pglite'));
  try {
    return (await pglite.query<{ n: number }>(sql)).rows[0].n;
  } finally {
    await pglite.close();
  }
}

/**
 * Publishes one last message with reply_to and resolves with Herald's reply: it comes after that
 * message is committed, which is after (or, batches being concurrent, with) the backlog.
 */
async function sentinel(env: Record<string, string>): Promise<void> {
  const topology = amqpTopology(loadConfig(env).amqp);
  const connection = await connect(args.amqp);
  try {
    const channel = await connection.createChannel();
    const reply = new Promise<void>((resolve) => {
      void channel.consume('amq.rabbitmq.reply-to', () => resolve(), { noAck: true });
    });
    await channel.checkQueue('amq.rabbitmq.reply-to').catch(() => undefined);
    const body = {
      id: 'sentinel',
      recipients: { userIds: ['sentinel'] },
      type: 'bench',
      title: 'last',
    };
    channel.publish(topology.exchange, 'notification.bench', Buffer.from(JSON.stringify(body)), {
      contentType: 'application/json',
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId: 'sentinel',
    });
    await reply;
  } finally {
    await connection.close();
  }
}

async function run(storage: string, messages: number, recipients: number): Promise<Run> {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
    PORT: '0',
    LOG_LEVEL: 'info',
    AMQP_URL: args.amqp,
    AMQP_PREFIX: `bench-${id}.`,
    DATABASE_SCHEMA: `herald_bench_${id}`,
    DATA_DIR: dataDir,
    ...(storage === 'postgres' && { DATABASE_URL: args.database }),
  };
  process.stderr.write(`\n[${storage}] ${messages} messages × ${recipients} recipients\n`);
  const backlog = await publishBacklog(env, messages, recipients);
  const herald = startHerald(env);
  await herald.listening;
  const started = Date.now();
  await sentinel(env);
  const seconds = (Date.now() - started) / 1000;
  herald.child.kill('SIGTERM');
  await new Promise((resolve) => herald.child.once('exit', resolve));
  const rows = (await countRows(storage, env)) - 1;
  await backlog.cleanup();
  if (storage === 'postgres') await dropSchema(env.DATABASE_SCHEMA);
  rmSync(dataDir, { recursive: true, force: true });
  const expected = messages * recipients;
  if (rows !== expected) throw new Error(`expected ${expected} rows, found ${rows}`);
  process.stderr.write(`  stored ${rows} rows in ${seconds.toFixed(2)} s\n`);
  return { storage, messages, rows, seconds, rowsPerSecond: Math.round(rows / seconds) };
}

async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: args.database });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
}

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const messages = Number(args.messages);
  const recipients = Number(args.recipients);
  const results: Run[] = [];
  for (const storage of args.storage.split(','))
    results.push(await run(storage, messages, recipients));
  process.stdout.write(
    `\nmachine: ${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}\n`,
  );
  console.table(results);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
