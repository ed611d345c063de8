/**
 * Fan-out: how long a notification to a big topic takes to store for every subscriber, and how
 * long a broadcast takes to reach every open stream, stored and live.
 *
 *   npm run bench:fanout -- [--subscribers 10000,100000] [--streams 10000] [--runs 3]
 *
 * Topic: subscriptions are written straight into the database while Herald is stopped, then
 * Herald (`node dist/main.js`, production mode) starts and messages to the topic are published
 * one after the other with reply_to; each time is from publish to the reply, which comes after
 * the last transaction. Broadcast: this process opens N SSE streams as N users (raw HTTP, one
 * socket each) to one Herald on PostgreSQL, then publishes stored broadcasts and live ones, one
 * at a time, and records when each stream receives each. Medians over the runs are reported.
 */
import { request } from 'node:http';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { Channel, connect } from 'amqplib';
import { SignJWT } from 'jose';
import { loadConfig } from '../src/config/herald-config';
import { amqpTopology } from '../src/messaging/amqp-topology';
import {
  benchEnvironment,
  DEFAULT_AMQP,
  DEFAULT_DATABASE,
  describeMachine,
  percentile,
  requestReply,
  startHeraldProcess,
  withPostgres,
} from './support/herald-process';

const USAGE = `Usage: npm run bench:fanout -- [options]

  --subscribers LIST  topic sizes to fan out to (default 10000,100000)
  --streams N         open streams for the broadcast run (default 10000; 0 skips it)
  --storage LIST      postgres, pglite or both, for the topic runs (default postgres,pglite)
  --runs N            messages per measurement; the median is reported (default 3)
  --database URL      PostgreSQL (default ${DEFAULT_DATABASE})
  --amqp URL          RabbitMQ (default ${DEFAULT_AMQP})
  --profile DIR       write Herald's CPU profiles (.cpuprofile) into DIR
  -h, --help          this text`;

const { values: args } = parseArgs({
  options: {
    subscribers: { type: 'string', default: '10000,100000' },
    streams: { type: 'string', default: '10000' },
    storage: { type: 'string', default: 'postgres,pglite' },
    runs: { type: 'string', default: '3' },
    database: { type: 'string', default: DEFAULT_DATABASE },
    amqp: { type: 'string', default: DEFAULT_AMQP },
    profile: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
const urls = { database: args.database, amqp: args.amqp };
const nodeFlags = args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [];
const runs = Number(args.runs);
const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (values: number[]) =>
  percentile(
    [...values].sort((a, b) => a - b),
    50,
  );

const SUBSCRIBE_SQL = (schema: string, count: number) =>
  `INSERT INTO "${schema}".topic_subscriptions (topic, user_id)
   SELECT 'big', 'user-' || lpad(i::text, 7, '0') FROM generate_series(1, ${count}) AS i`;

async function topicRun(storage: string, subscribers: number) {
  const { env, cleanup } = benchEnvironment(storage, urls);
  try {
    log(`\n[topic on ${storage}] ${subscribers} subscribers`);
    // A first start creates the schema; subscriptions go in while Herald is stopped (PGlite
    // admits one process at a time).
    let herald = startHeraldProcess(env, nodeFlags);
    await herald.ready;
    await herald.stop();
    const sql = SUBSCRIBE_SQL(env.DATABASE_SCHEMA, subscribers);
    if (storage === 'postgres') await withPostgres(args.database, (client) => client.query(sql));
    else {
      const pglite = await PGlite.create(`${env.DATA_DIR}/pglite`);
      await pglite.exec(sql);
      await pglite.close();
    }
    herald = startHeraldProcess(env, nodeFlags);
    await herald.ready;
    const times: number[] = [];
    for (let run = 1; run <= runs; run += 1) {
      const started = performance.now();
      const reply = await requestReply(args.amqp, env, 'notification.bench', {
        id: `fan-out-${run}`,
        recipients: { topics: ['big'] },
        type: 'bench.fanout',
        title: 'To every subscriber',
      });
      times.push(performance.now() - started);
      if (!reply.ok || reply.ids?.length !== subscribers) {
        throw new Error(`expected ${subscribers} ids, got ${JSON.stringify(reply).slice(0, 200)}`);
      }
      log(`  run ${run}: stored for ${subscribers} subscribers in ${times.at(-1)!.toFixed(0)} ms`);
    }
    await herald.stop();
    const ms = median(times);
    return {
      storage,
      subscribers,
      runs,
      medianMs: Math.round(ms),
      minMs: Math.round(Math.min(...times)),
      maxMs: Math.round(Math.max(...times)),
      msPer10k: Math.round((ms / subscribers) * 10_000),
      rowsPerSecond: Math.round(subscribers / (ms / 1000)),
    };
  } finally {
    await cleanup();
  }
}

/** An SSE stream as a raw socket: resolves `opened` at its first event, calls `onEvent` after. */
function openStream(base: string, token: string, onEvent: (name: string) => void) {
  return new Promise<void>((resolve, reject) => {
    const req = request(
      `${base}/api/v1/notifications/stream`,
      { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, agent: false },
      (response) => {
        if (response.statusCode !== 200) reject(new Error(`stream: ${response.statusCode}`));
        response.setEncoding('utf8');
        let opened = false;
        response.on('data', (chunk: string) => {
          for (const match of chunk.matchAll(/^event: (.+)$/gm)) {
            if (!opened) {
              opened = true;
              resolve();
            }
            onEvent(match[1]);
          }
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** The machine's CPU time so far, all cores (ms). */
function machineCpu(): { idle: number; total: number } {
  let idle = 0;
  let total = 0;
  for (const { times } of cpus()) {
    idle += times.idle;
    total += times.user + times.nice + times.sys + times.idle + times.irq;
  }
  return { idle, total };
}

async function broadcastRun(streams: number) {
  const { env, cleanup } = benchEnvironment('postgres', urls);
  const herald = startHeraldProcess(env, nodeFlags);
  try {
    const base = await herald.ready;
    log(`\n[broadcast on postgres] opening ${streams} streams`);
    const secret = new TextEncoder().encode(env.AUTH_JWT_SECRET);
    const arrivals: Record<string, number[]> = { notification: [], live: [] };
    let sentAt = 0;
    const onEvent = (name: string) => {
      arrivals[name]?.push(performance.now() - sentAt);
    };
    const batch = 200;
    for (let start = 0; start < streams; start += batch) {
      await Promise.all(
        Array.from({ length: Math.min(batch, streams - start) }, async (_, i) => {
          const token = await new SignJWT({ sub: `viewer-${start + i}` })
            .setProtectedHeader({ alg: 'HS256' })
            .setExpirationTime('1h')
            .sign(secret);
          await openStream(base, token, onEvent);
        }),
      );
      if ((start + batch) % 2000 === 0) log(`  ${start + batch} open`);
    }
    const connection = await connect(args.amqp);
    const channel: Channel = await connection.createConfirmChannel();
    const exchange = amqpTopology(loadConfig(env).amqp).exchange;
    const results = [];
    for (const [kind, routingKey, body] of [
      ['notification', 'notification.announcement', { title: 'Maintenance tonight' }],
      ['live', 'event.announcement', {}],
    ] as const) {
      const all: number[] = [];
      const lasts: number[] = [];
      const cpuBefore = process.cpuUsage();
      const machineBefore = machineCpu();
      let wallMs = 0;
      for (let run = 1; run <= runs; run += 1) {
        const received: number[] = (arrivals[kind] = []);
        sentAt = performance.now();
        channel.publish(
          exchange,
          routingKey,
          Buffer.from(JSON.stringify({ recipients: { broadcast: true }, ...body })),
          { contentType: 'application/json' },
        );
        const deadline = Date.now() + 60_000;
        while (received.length < streams && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        wallMs += performance.now() - sentAt;
        if (received.length < streams) throw new Error(`${kind}: ${received.length}/${streams}`);
        lasts.push(Math.max(...received));
        all.push(...received);
        log(
          `  ${kind} run ${run}: all ${streams} received, the last after ${lasts.at(-1)!.toFixed(0)} ms`,
        );
      }
      const cpu = process.cpuUsage(cpuBefore);
      const machine = machineCpu();
      const sorted = all.sort((a, b) => a - b);
      results.push({
        broadcast: kind === 'notification' ? 'stored' : 'live',
        streams,
        runs,
        p50Ms: Math.round(percentile(sorted, 50)),
        p90Ms: Math.round(percentile(sorted, 90)),
        p99Ms: Math.round(percentile(sorted, 99)),
        lastMedianMs: Math.round(median(lasts)),
        lastMaxMs: Math.round(Math.max(...lasts)),
        // How busy the load generator (this process) and the whole machine were meanwhile.
        benchCpu: `${Math.round((cpu.user + cpu.system) / 10 / wallMs)}%`,
        machineCpu: `${Math.round(100 * (1 - (machine.idle - machineBefore.idle) / (machine.total - machineBefore.total)))}%`,
      });
    }
    await connection.close();
    return results;
  } finally {
    await herald.stop();
    await cleanup();
  }
}

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const topics = [];
  for (const storage of args.storage.split(',').filter(Boolean)) {
    for (const size of args.subscribers.split(',').filter(Boolean).map(Number)) {
      topics.push(await topicRun(storage, size));
    }
  }
  const streams = Number(args.streams);
  const broadcasts = streams > 0 ? await broadcastRun(streams) : [];
  process.stdout.write(`\nmachine: ${describeMachine()}\n`);
  if (topics.length > 0) console.table(topics);
  if (broadcasts.length > 0) console.table(broadcasts);
  process.exit(0); // the streams' sockets would keep this process alive
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
