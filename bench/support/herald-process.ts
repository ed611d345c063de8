import { ChildProcessByStdio, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { loadConfig } from '../../src/config/herald-config';
import { amqpTopology } from '../../src/messaging/amqp-topology';

export const DEFAULT_DATABASE = 'postgres://postgres@127.0.0.1:5432/test';
export const DEFAULT_AMQP = 'amqp://guest:guest@127.0.0.1:5672';

/** One benchmark run's own names: broker prefix, schema, data directory; `cleanup()` removes them. */
export interface BenchEnvironment {
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}

export function benchEnvironment(
  storage: string,
  urls: { database: string; amqp: string },
): BenchEnvironment {
  const id = randomBytes(4).toString('hex');
  const dataDir = mkdtempSync(join(tmpdir(), 'herald-bench-'));
  const env: Record<string, string> = {
    NODE_ENV: 'production',
    AUTH_JWT_SECRET: randomBytes(32).toString('hex'),
    PORT: '0',
    LOG_LEVEL: 'info',
    AMQP_URL: urls.amqp,
    AMQP_PREFIX: `bench-${id}.`,
    DATABASE_SCHEMA: `herald_bench_${id}`,
    DATA_DIR: dataDir,
    ...(storage === 'postgres' && { DATABASE_URL: urls.database }),
  };
  return {
    env,
    cleanup: async () => {
      await deleteTopology(env, urls.amqp);
      if (storage === 'postgres') {
        await withPostgres(urls.database, (client) =>
          client.query(`DROP SCHEMA IF EXISTS "${env.DATABASE_SCHEMA}" CASCADE`),
        );
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export async function withPostgres<T>(url: string, work: (client: Client) => Promise<T>) {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function deleteTopology(env: Record<string, string>, amqp: string): Promise<void> {
  const topology = amqpTopology(loadConfig(env).amqp);
  const connection = await connect(amqp);
  try {
    const channel = await connection.createChannel();
    for (const queue of [topology.ingestQueue, topology.liveQueue, topology.deadLetterQueue]) {
      await channel.deleteQueue(queue);
    }
    for (const exchange of [
      topology.exchange,
      topology.deadLetterExchange,
      topology.realtimeExchange,
    ]) {
      await channel.deleteExchange(exchange);
    }
  } finally {
    await connection.close();
  }
}

export interface HeraldProcess {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** Resolves with the HTTP base URL once Herald logs that it listens and consumes. */
  ready: Promise<string>;
  /** SIGTERM, then resolves when it exited. */
  stop: () => Promise<void>;
  /** What it logged so far (the first MB). */
  output: () => string;
}

/** Starts the built Herald (`node dist/main.js`) as a production process. */
export function startHeraldProcess(
  env: Record<string, string>,
  nodeFlags: string[] = [],
): HeraldProcess {
  return startServerProcess([...nodeFlags, 'dist/main.js'], env);
}

/**
 * Starts `node <args>` (Herald, or a baseline server through tsx); `ready` resolves with its base
 * URL once it logged "Listening on <url>" and "Consuming ".
 */
export function startServerProcess(args: string[], env: Record<string, string>): HeraldProcess {
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      if (output.length < 1_000_000) output += chunk.toString();
      const match = /Listening on (http:\/\/[^\s"]+)/.exec(output);
      if (match && output.includes('Consuming '))
        resolve(match[1].replace('localhost', '127.0.0.1'));
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited (${code}):\n${output}`)));
  });
  return {
    child,
    ready,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
    output: () => output,
  };
}

/** CPU time (ms, user + system) and resident memory (bytes) of a process, from /proc. */
export function processUsage(pid: number): { cpuMs: number; rssBytes: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: ticks * 10, rssBytes: Number(rss?.[1] ?? 0) * 1024 }; // USER_HZ is 100
}

/**
 * Connections the kernel dropped, machine-wide, because a listening socket's accept queue was
 * full (TcpExt ListenOverflows): each costs its client a SYN retransmit, a second or more.
 */
export function listenOverflows(): number {
  const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const names = lines.find((line) => line.startsWith('TcpExt:'))?.split(' ') ?? [];
  const values = lines.filter((line) => line.startsWith('TcpExt:'))[1]?.split(' ') ?? [];
  return Number(values[names.indexOf('ListenOverflows')] ?? NaN);
}

export function describeMachine(): string {
  return `${cpus().length} × ${cpus()[0]?.model}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

/** The value below which `p` of the sorted values fall (nearest rank). */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export interface IngestReply {
  ok: boolean;
  ids?: string[];
  error?: string;
}

/** Publishes one message with reply_to and resolves with Herald's reply, on a connection of its own. */
export async function requestReply(
  amqp: string,
  env: Record<string, string>,
  routingKey: string,
  body: object,
): Promise<IngestReply> {
  const connection = await connect(amqp);
  try {
    const channel = await connection.createChannel();
    // Direct reply-to: the consumer must exist before the publish, or the broker closes the channel.
    let answer!: (reply: IngestReply) => void;
    const reply = new Promise<IngestReply>((resolve) => (answer = resolve));
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (message) => message && answer(JSON.parse(message.content.toString()) as IngestReply),
      { noAck: true },
    );
    const exchange = amqpTopology(loadConfig(env).amqp).exchange;
    channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body)), {
      contentType: 'application/json',
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId: 'bench',
    });
    return await reply;
  } finally {
    await connection.close();
  }
}
