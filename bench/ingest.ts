/**
 * Ingest throughput: how many notifications per second one Herald stores from a RabbitMQ backlog.
 *
 * It declares Herald's topology under a fresh AMQP_PREFIX, publishes N messages (with publisher
 * confirms) while no Herald runs, then starts the built Herald (`node dist/main.js`, production
 * mode) and times from when it consumes until the reply to a last request-reply message
 * arrives; then it checks that every row is in the database. PostgreSQL and PGlite by default.
 * `--shapes` compares, in one run, plain messages with ones that replace (`collapseKey`) or join
 * a group (`group`), each user's messages sharing 10 keys, or are rendered from a template
 * (`template`: three locales, a plural, a number; the message's `locale` cycles through en,
 * de-AT and pl).
 *
 *   npm run bench:ingest -- [--messages 50000] [--recipients 1] [--storage postgres,pglite]
 *     [--shapes plain,collapse,group,template]
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { connect } from 'amqplib';
import { SignJWT } from 'jose';
import { loadConfig } from '../src/config/herald-config';
import { amqpTopology, assertTopology } from '../src/messaging/amqp-topology';
import {
  benchEnvironment,
  DEFAULT_AMQP,
  DEFAULT_DATABASE,
  describeMachine,
  requestReply,
  startHeraldProcess,
  withPostgres,
} from './support/herald-process';

const USAGE = `Usage: npm run bench:ingest -- [--messages N] [--recipients R] [--storage postgres,pglite]

  --messages N      messages to publish before Herald starts (default 50000)
  --recipients R    recipients per message (default 1)
  --storage LIST    postgres, pglite or both (default postgres,pglite)
  --shapes LIST     plain, collapse (collapseKey), group (group.key), each user's messages
                    sharing 10 keys; template (rendered from a template in 3 locales)
                    (default plain)
  --database URL    PostgreSQL for the postgres run (default ${DEFAULT_DATABASE})
  --amqp URL        RabbitMQ (default ${DEFAULT_AMQP})
  --profile DIR     write Herald's CPU profile (.cpuprofile) into DIR
  --json            print the results as JSON only (for npm run bench)
  -h, --help        this text`;

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string', default: '50000' },
    recipients: { type: 'string', default: '1' },
    storage: { type: 'string', default: 'postgres,pglite' },
    shapes: { type: 'string', default: 'plain' },
    database: { type: 'string', default: DEFAULT_DATABASE },
    amqp: { type: 'string', default: DEFAULT_AMQP },
    profile: { type: 'string' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  },
});

const SHAPES = ['plain', 'collapse', 'group', 'template'] as const;
type Shape = (typeof SHAPES)[number];

/** The template of the `template` shape: what a plain message says, in three languages. */
const TEMPLATE = {
  defaultLocale: 'en',
  locales: {
    en: {
      title: 'Benchmark notification {sequence}',
      body: 'A body of {count, plural, one {a typical length} other {# typical lengths}}, some {chars, number} characters.',
    },
    de: {
      title: 'Benchmark-Benachrichtigung {sequence}',
      body: 'Ein Text {count, plural, one {üblicher Länge} other {# üblicher Längen}}, etwa {chars, number} Zeichen.',
    },
    pl: {
      title: 'Powiadomienie testowe {sequence}',
      body: 'Treść {count, plural, one {zwykłej długości} few {# zwykłych długości} many {# zwykłych długości} other {# długości}}, około {chars, number} znaków.',
    },
  },
};
const LOCALES = ['en', 'de-AT', 'pl'];

/** What a message of the shape has beside its id, recipients and type. */
function shaped(shape: Shape, i: number): object {
  const key = `key-${i % 10}`;
  if (shape === 'template') {
    return { template: 'bench.ingest', locale: LOCALES[i % 3], data: { sequence: i, chars: 70 } };
  }
  const plain = {
    title: `Benchmark notification ${i}`,
    body: 'A body of a typical length for a notification, some seventy characters.',
    data: { sequence: i, sentAt: Date.now() },
  };
  if (shape === 'collapse') return { ...plain, collapseKey: key };
  if (shape === 'group') return { ...plain, group: { key, actor: `actor-${i % 7}` } };
  return plain;
}

/** Puts the template of the `template` shape, through a Herald started for that alone. */
async function putTemplate(env: Record<string, string>): Promise<void> {
  const herald = startHeraldProcess(env);
  try {
    const url = await herald.ready;
    const token = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('bench')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(env.AUTH_JWT_SECRET));
    const answer = await fetch(`${url}/api/v1/admin/templates/bench.ingest`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(TEMPLATE),
    });
    if (!answer.ok) throw new Error(`PUT template: ${answer.status} ${await answer.text()}`);
  } finally {
    await herald.stop();
  }
}

interface Run {
  storage: string;
  shape: Shape;
  messages: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

async function publishBacklog(
  env: Record<string, string>,
  messages: number,
  recipients: number,
  shape: Shape,
) {
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
      ...shaped(shape, i),
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
  await connection.close();
}

/** Rows in the store after Herald stopped (PGlite allows one process at a time). */
async function countRows(storage: string, env: Record<string, string>): Promise<number> {
  const sql = `SELECT count(*)::int AS n FROM "${env.DATABASE_SCHEMA}".notifications`;
  if (storage === 'postgres') {
    return withPostgres(
      args.database,
      async (client) => (await client.query<{ n: number }>(sql)).rows[0].n,
    );
  }
  const pglite = await PGlite.create(join(env.DATA_DIR, 'pglite'));
  try {
    return (await pglite.query<{ n: number }>(sql)).rows[0].n;
  } finally {
    await pglite.close();
  }
}

async function run(
  storage: string,
  shape: Shape,
  messages: number,
  recipients: number,
): Promise<Run> {
  const { env, cleanup } = benchEnvironment(storage, { database: args.database, amqp: args.amqp });
  process.stderr.write(
    `\n[${storage}, ${shape}] ${messages} messages × ${recipients} recipients\n`,
  );
  try {
    if (shape === 'template') await putTemplate(env);
    await publishBacklog(env, messages, recipients, shape);
    const flags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
    const herald = startHeraldProcess(env, flags);
    await herald.ready;
    const started = Date.now();
    // The reply to a last message comes after it is committed, which is after (or, batches being
    // concurrent, with) the backlog.
    await requestReply(args.amqp, env, 'notification.bench', {
      id: 'sentinel',
      recipients: { userIds: ['sentinel'] },
      type: 'bench',
      title: 'last',
    });
    const seconds = (Date.now() - started) / 1000;
    await herald.stop();
    // Replaced and joined rows count too: they are deleted, not removed.
    const rows = (await countRows(storage, env)) - 1;
    const expected = messages * recipients;
    if (rows !== expected) throw new Error(`expected ${expected} rows, found ${rows}`);
    process.stderr.write(`  stored ${rows} rows in ${seconds.toFixed(2)} s\n`);
    return { storage, shape, messages, rows, seconds, rowsPerSecond: Math.round(rows / seconds) };
  } finally {
    await cleanup();
  }
}
async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const messages = Number(args.messages);
  const recipients = Number(args.recipients);
  const shapes = args.shapes.split(',') as Shape[];
  if (shapes.some((shape) => !SHAPES.includes(shape))) {
    console.error(`Shapes are ${SHAPES.join(', ')}: "${args.shapes}"\n\n${USAGE}`);
    process.exit(2);
  }
  const results: Run[] = [];
  for (const storage of args.storage.split(',')) {
    for (const shape of shapes) results.push(await run(storage, shape, messages, recipients));
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify(results)}\n`);
    return;
  }
  process.stdout.write(`\nmachine: ${describeMachine()}\n`);
  console.table(results);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
