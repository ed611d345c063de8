/**
 * The benchmark: Herald against two baselines on the same load, end to end through real
 * RabbitMQ, real PostgreSQL and real sockets, on this machine.
 *
 *   npm run bench -- [--quick] [--scenarios a,b,c,d,e,f] [--targets herald,naive,bare] [--write]
 *
 * Each target runs as its own process: Herald (`node dist/main.js`, production mode, PostgreSQL),
 * the naive NestJS Subject + filter() server (bench/baselines/naive.ts) and a bare node:http
 * server (bench/baselines/bare.ts). Streams are opened by load processes (bench/load/streams.ts,
 * raw HTTP, at most 10,000 sockets each), messages are published by this process at a fixed rate
 * with their send time in `data.sentAt`, and every stream reports when each event arrived.
 *
 * Scenarios: (a) idle streams, memory per stream; (b) personal notifications at fixed rates to
 * 10,000 streams (5,000 users × 2 tabs); (c) one broadcast to those streams; (d) live events to
 * topics (Herald only: the baselines have no topics); (e) ingest only, PostgreSQL and PGlite
 * (npm run bench:ingest); (f) a reconnect storm: the server restarts and every stream reopens at
 * once, with its Last-Event-ID. The report ends with issue 18's targets, as ratios of Herald to
 * the baselines of the same run. Results: bench/results/*.json; a full run of every scenario and target
 * (or --write) also rewrites
 * the results part of docs/BENCHMARKS.md and its charts in docs/bench/.
 */
import { ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfirmChannel, connect } from 'amqplib';
import { lineChart, Series } from './support/chart';
import {
  benchEnvironment,
  DEFAULT_AMQP,
  DEFAULT_DATABASE,
  describeMachine,
  HeraldProcess,
  percentile,
  listenOverflows,
  processUsage,
  startHeraldProcess,
  startServerProcess,
  withPostgres,
} from './support/herald-process';

const USAGE = `Usage: npm run bench -- [options]

  --quick             a short run (under 2 minutes): fewer streams, one rate, 5 s each
  --scenarios LIST    any of a,b,c,d,e,f (default all)
  --targets LIST      any of herald,naive,bare (default all)
  --stored-rates LIST (b) notifications/s to run, e.g. 1000,4000 ('' for none; default by --quick)
  --live-rates LIST   (b) personal live events/s to run, the same way
  --write             rewrite docs/BENCHMARKS.md and docs/bench/*.svg (a full run of everything always does)
  --from FILE         no run: rewrite the docs from a saved bench/results/*.json
  --profile DIR       write Herald's CPU profile (.cpuprofile) into DIR
  --database URL      PostgreSQL (default ${DEFAULT_DATABASE})
  --amqp URL          RabbitMQ (default ${DEFAULT_AMQP})
  -h, --help          this text`;

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean' },
    scenarios: { type: 'string', default: 'a,b,c,d,e,f' },
    targets: { type: 'string', default: 'herald,naive,bare' },
    'stored-rates': { type: 'string' },
    'live-rates': { type: 'string' },
    write: { type: 'boolean' },
    from: { type: 'string' },
    profile: { type: 'string' },
    database: { type: 'string', default: DEFAULT_DATABASE },
    amqp: { type: 'string', default: DEFAULT_AMQP },
    help: { type: 'boolean', short: 'h' },
  },
});

/** A comma-separated list of rates, or `fallback` when the option is not given. */
function rates(option: string | undefined, fallback: number[]): number[] {
  if (option === undefined) return fallback;
  const list = option
    .split(',')
    .filter((item) => item.trim() !== '')
    .map(Number);
  if (list.some((rate) => !Number.isInteger(rate) || rate <= 0)) {
    console.error(`Rates are whole numbers per second, comma-separated: "${option}"\n\n${USAGE}`);
    process.exit(2);
  }
  return list;
}

const quick = !!args.quick;
const plan = {
  idleSteps: quick ? [1000, 3000] : [1000, 5000, 10000, 19000],
  streams: quick ? 2000 : 10000,
  rates: rates(args['stored-rates'], quick ? [500] : [500, 1000, 2000, 4000]),
  liveUserRates: rates(args['live-rates'], quick ? [2000] : [1000, 4000, 8000]),
  seconds: quick ? 4 : 15,
  broadcasts: quick ? 1 : 3,
  liveRates: quick ? [1000] : [1000, 5000],
  topics: 1000,
  ingestMessages: quick ? 10000 : 50000,
};
/** Sockets per load process: the file-descriptor limit here is 20,000 per process. */
const PER_LOAD_PROCESS = 9500;
const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Target = 'herald' | 'naive' | 'bare';

interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

function summarise(values: number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
  };
}

/** The load processes of one target: open streams, then collect what they received. */
class Load {
  private readonly children: ChildProcess[] = [];

  static async open(
    base: string,
    target: Target,
    users: string[],
    tabs: number,
    secret?: string,
  ): Promise<Load> {
    const load = new Load();
    const perChild = Math.max(1, Math.floor(PER_LOAD_PROCESS / tabs));
    const path = target === 'herald' ? '/api/v1/notifications/stream' : '/stream?user={user}';
    const opened: Promise<void>[] = [];
    for (let start = 0; start < users.length; start += perChild) {
      const child = fork('bench/load/streams.ts', [], { execArgv: ['--import', 'tsx'] });
      load.children.push(child);
      opened.push(
        new Promise((resolve, reject) => {
          child.once('message', (message: { kind: string; message?: string }) =>
            message.kind === 'opened' ? resolve() : reject(new Error(message.message)),
          );
        }),
      );
      child.send({
        kind: 'open',
        base,
        path,
        users: users.slice(start, start + perChild),
        tabs,
        secret,
      });
    }
    await Promise.all(opened);
    return load;
  }

  /** Every stream reopens at once against `base`, with its Last-Event-ID; resolves once all are. */
  async reopen(base: string): Promise<number> {
    const retries = await Promise.all(
      this.children.map(
        (child) =>
          new Promise<number>((resolve, reject) => {
            child.once(
              'message',
              (message: { kind: string; message?: string; retries?: number }) =>
                message.kind === 'opened'
                  ? resolve(message.retries ?? 0)
                  : reject(new Error(message.message)),
            );
            child.send({ kind: 'reopen', base });
          }),
      ),
    );
    return retries.reduce((sum, each) => sum + each, 0);
  }

  /** Samples by event name since the last collect, and the CPU time the load processes used. */
  async collect(): Promise<{ samples: Record<string, number[]>; received: number; cpuMs: number }> {
    const answers = await Promise.all(
      this.children.map(
        (child) =>
          new Promise<{ samples: Record<string, number[]>; received: number; cpuMs: number }>(
            (resolve) => {
              child.once('message', resolve);
              child.send({ kind: 'collect' });
            },
          ),
      ),
    );
    const samples: Record<string, number[]> = {};
    for (const answer of answers) {
      for (const [name, values] of Object.entries(answer.samples))
        append((samples[name] ??= []), values);
    }
    return {
      samples,
      received: answers.reduce((sum, answer) => sum + answer.received, 0),
      cpuMs: answers.reduce((sum, answer) => sum + answer.cpuMs, 0),
    };
  }

  /**
   * Waits until `count` events carrying a send time arrived (or `timeoutMs` passed); `cpu` is
   * the load processes' CPU since the previous collect, in % of one core.
   */
  async waitFor(count: number, timeoutMs: number, since = performance.now()) {
    const samples: Record<string, number[]> = {};
    let received = 0;
    let cpuMs = 0;
    const deadline = Date.now() + timeoutMs;
    while (received < count && Date.now() < deadline) {
      await sleep(50);
      const part = await this.collect();
      received += part.received;
      cpuMs += part.cpuMs;
      for (const [name, values] of Object.entries(part.samples))
        append((samples[name] ??= []), values);
    }
    return { samples, received, cpu: (cpuMs / (performance.now() - since)) * 100 };
  }

  close(): void {
    for (const child of this.children) child.kill();
  }
}

/** Deliveries per second of the server's CPU time: what one core would sustain at that pace. */
function perCpuSecond(row: TargetRun['rates'][number]): number {
  return Math.round(row.deliveriesPerSecond / Math.max(0.01, row.serverCpuPercent / 100));
}

/**
 * Deliveries per CPU-second at the highest rate the target kept up with (all delivered, p99
 * under a second): capacity, where the load could not saturate every target.
 */
function capacity(run: TargetRun, kind: 'stored' | 'live'): number {
  const kept = run.rates.filter(
    (row) => row.kind === kind && row.received === row.expected && row.latencyMs.p99 < 1000,
  );
  return kept.length > 0 ? perCpuSecond(kept.at(-1)!) : NaN;
}

/** Empties the queues a target consumes: what a saturated target had not taken yet. */
async function purgeBacklog(channel: ConfirmChannel, target: Target, prefix: string) {
  const queues =
    target === 'herald'
      ? [`${prefix}notifications.ingest`, `${prefix}notifications.live`]
      : [`${prefix}notifications.baseline`];
  for (const queue of queues) await channel.purgeQueue(queue);
}

/** Appends without spreading: a spread of 100,000 arguments overflows the stack. */
function append(target: number[], values: number[]): void {
  for (const value of values) target.push(value);
}

/** Publishes at a fixed rate for a while, each message built by `body(i)`. */
async function publishAtRate(
  channel: ConfirmChannel,
  exchange: string,
  routingKey: string,
  rate: number,
  seconds: number,
  body: (i: number) => object,
): Promise<number> {
  const tickMs = 10;
  const started = performance.now();
  let sent = 0;
  const total = Math.round(rate * seconds);
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * rate) + 1);
    for (; sent < due; sent += 1) {
      const sentAt = Date.now();
      channel.publish(exchange, routingKey, Buffer.from(JSON.stringify(body(sent))), {
        contentType: 'application/json',
        headers: { 'x-herald-sent-at': sentAt },
      });
    }
    await sleep(tickMs);
  }
  await channel.waitForConfirms();
  return sent;
}

interface TargetRun {
  target: Target;
  idleRssBytes: number;
  idle: { streams: number; rssBytes: number; bytesPerStream: number }[];
  /** How fast the 10,000 streams of (b)–(d) opened (each counted at its first event). */
  opening?: { streams: number; seconds: number; perSecond: number; cpuMsPerStream?: number };
  rates: {
    /** `stored`: notification.* (Herald stores each); `live`: event.* to the same users. */
    kind: 'stored' | 'live';
    rate: number;
    expected: number;
    received: number;
    deliveriesPerSecond: number;
    latencyMs: LatencySummary;
    serverCpuPercent: number;
    loadCpuPercent: number;
    rssBytes: number;
  }[];
  /** `lastMs`: when the last stream received each broadcast. */
  broadcasts: { kind: string; streams: number; latencyMs: LatencySummary; lastMs?: number[] }[];
  live: { rate: number; expected: number; received: number; latencyMs: LatencySummary }[];
  /** (f): from the restarted server's readiness to every stream's first event again. */
  storm?: {
    streams: number;
    seconds: number;
    cpuMsPerStream: number;
    retries: number;
    /** Connection attempts dropped on a full accept queue (machine-wide, so the load's too). */
    listenOverflows?: number;
  };
}

async function runTarget(target: Target, scenarios: Set<string>): Promise<TargetRun> {
  const { env, cleanup } = benchEnvironment('postgres', {
    database: args.database,
    amqp: args.amqp,
  });
  Object.assign(env, { SSE_MAX_STREAMS_PER_USER: '100', RATE_LIMIT_PER_IP: '1000000' });
  const start = (): HeraldProcess =>
    target === 'herald'
      ? startHeraldProcess(
          env,
          args.profile ? ['--cpu-prof', `--cpu-prof-dir=${args.profile}`] : [],
        )
      : startServerProcess(['--import', 'tsx', `bench/baselines/${target}.ts`], env);
  let server = start();
  const base = await server.ready;
  let pid = server.child.pid!;
  const connection = await connect(args.amqp);
  const channel = await connection.createConfirmChannel();
  const exchange = `${env.AMQP_PREFIX}notifications`;
  const secret = target === 'herald' ? env.AUTH_JWT_SECRET : undefined;
  await sleep(1000);
  const result: TargetRun = {
    target,
    idleRssBytes: processUsage(pid).rssBytes,
    idle: [],
    rates: [],
    broadcasts: [],
    live: [],
  };
  log(`\n[${target}] ready at ${base}, RSS ${mb(result.idleRssBytes)}`);
  try {
    if (scenarios.has('a')) {
      for (const streams of plan.idleSteps) {
        const users = Array.from({ length: streams }, (_, i) => `idle-${i}`);
        const load = await Load.open(base, target, users, 1, secret);
        await sleep(2000);
        const rssBytes = processUsage(pid).rssBytes;
        const bytesPerStream = Math.round((rssBytes - result.idleRssBytes) / streams);
        result.idle.push({ streams, rssBytes, bytesPerStream });
        log(`  (a) ${streams} idle streams: RSS ${mb(rssBytes)}, ${kb(bytesPerStream)} per stream`);
        load.close();
        await sleep(1500);
      }
    }
    if (!['b', 'c', 'd', 'f'].some((scenario) => scenarios.has(scenario))) return result;
    if (target === 'herald' && scenarios.has('a')) {
      // Herald stores a broadcast for every user it has seen: (c) is for the 5,000 of the streams.
      await withPostgres(args.database, (client) =>
        client.query(
          `DELETE FROM "${env.DATABASE_SCHEMA}".known_users WHERE user_id LIKE 'idle-%'`,
        ),
      );
    }

    const users = Array.from({ length: plan.streams / 2 }, (_, i) => `user-${i}`);
    if (target === 'herald' && scenarios.has('d')) {
      // Each user follows one of the topics; subscriptions are read when a stream opens.
      await withPostgres(args.database, (client) =>
        client.query(
          `INSERT INTO "${env.DATABASE_SCHEMA}".topic_subscriptions (topic, user_id)
           SELECT 'topic-' || (i % ${plan.topics}), 'user-' || i FROM generate_series(0, ${users.length - 1}) AS i`,
        ),
      );
    }
    const opening = performance.now();
    const cpuBefore = processUsage(pid).cpuMs;
    const load = await Load.open(base, target, users, 2, secret);
    const seconds = (performance.now() - opening) / 1000;
    result.opening = {
      streams: plan.streams,
      seconds: Number(seconds.toFixed(1)),
      perSecond: Math.round(plan.streams / seconds),
      // The wall time moves with this VM's neighbours; the server's CPU per stream much less.
      cpuMsPerStream: Number(((processUsage(pid).cpuMs - cpuBefore) / plan.streams).toFixed(2)),
    };
    await sleep(1000);
    await load.collect();
    log(
      `  ${plan.streams} streams open (${users.length} users × 2 tabs) in ${result.opening.seconds} s: ${result.opening.perSecond}/s, server CPU ${result.opening.cpuMsPerStream} ms each`,
    );
    try {
      if (scenarios.has('b')) {
        const phases = [
          ...plan.rates.map((rate) => ({ kind: 'stored' as const, rate })),
          ...plan.liveUserRates.map((rate) => ({ kind: 'live' as const, rate })),
        ];
        for (const { kind, rate } of phases) {
          const before = processUsage(pid);
          const started = performance.now();
          const sent = await publishAtRate(
            channel,
            exchange,
            kind === 'stored' ? 'notification.bench' : 'event.bench',
            rate,
            plan.seconds,
            (i) => ({
              recipients: { userIds: [users[(i * 7919) % users.length]] },
              type: 'bench.rate',
              ...(kind === 'stored' && { title: 'Benchmark' }),
              data: { sentAt: Date.now() },
            }),
          );
          const expected = sent * 2;
          const got = await load.waitFor(expected, 15_000, started);
          const seconds = (performance.now() - started) / 1000;
          const after = processUsage(pid);
          const latencyMs = summarise(
            got.samples[kind === 'stored' ? 'notification' : 'live'] ?? [],
          );
          const row = {
            kind,
            rate,
            expected,
            received: got.received,
            deliveriesPerSecond: Math.round(got.received / seconds),
            latencyMs,
            serverCpuPercent: Math.round(((after.cpuMs - before.cpuMs) / (seconds * 1000)) * 100),
            loadCpuPercent: Math.round(got.cpu),
            rssBytes: after.rssBytes,
          };
          result.rates.push(row);
          log(
            `  (b) ${kind} ${rate}/s: ${row.received}/${expected} delivered, p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms, max ${latencyMs.max} ms, server CPU ${row.serverCpuPercent} %, load CPU ${row.loadCpuPercent} %`,
          );
          // A target that fell behind does not carry its backlog into the next phase.
          await purgeBacklog(channel, target, env.AMQP_PREFIX);
          await sleep(1000);
          await load.collect();
        }
      }
      if (scenarios.has('c')) {
        for (const [kind, routingKey] of [
          ['stored', 'notification.announcement'],
          ['live', 'event.announcement'],
        ] as const) {
          const all: number[] = [];
          const lasts: number[] = [];
          for (let run = 0; run < plan.broadcasts; run += 1) {
            await publishAtRate(channel, exchange, routingKey, 1, 1, () => ({
              recipients: { broadcast: true },
              type: 'announcement',
              ...(kind === 'stored' && { title: 'To everyone' }),
              data: { sentAt: Date.now() },
            }));
            const got = await load.waitFor(plan.streams, 30_000);
            const samples = got.samples[kind === 'stored' ? 'notification' : 'live'] ?? [];
            lasts.push(samples.reduce((max, value) => Math.max(max, value), 0));
            append(all, samples);
            await sleep(500);
            await load.collect();
          }
          const latencyMs = summarise(all);
          result.broadcasts.push({ kind, streams: plan.streams, latencyMs, lastMs: lasts });
          log(
            `  (c) ${kind} broadcast to ${plan.streams} streams: p50 ${latencyMs.p50} ms, last ${lasts.join(', ')} ms`,
          );
        }
      }
      if (scenarios.has('d') && target === 'herald') {
        for (const rate of plan.liveRates) {
          const sent = await publishAtRate(
            channel,
            exchange,
            'event.tick',
            rate,
            plan.seconds,
            (i) => ({
              recipients: { topics: [`topic-${i % plan.topics}`] },
              type: 'tick',
              data: { sentAt: Date.now() },
            }),
          );
          const expected = (sent * plan.streams) / plan.topics;
          const got = await load.waitFor(expected, 15_000);
          const latencyMs = summarise(got.samples.live ?? []);
          result.live.push({ rate, expected, received: got.received, latencyMs });
          log(
            `  (d) live events to topics at ${rate}/s: ${got.received}/${expected} delivered, p50 ${latencyMs.p50} ms, p99 ${latencyMs.p99} ms`,
          );
          await sleep(1000);
          await load.collect();
        }
      }
      if (scenarios.has('f')) {
        await server.stop();
        server = start();
        const restarted = await server.ready;
        pid = server.child.pid!;
        const cpuBefore = processUsage(pid).cpuMs;
        const overflowsBefore = listenOverflows();
        const stormStarted = performance.now();
        const retries = await load.reopen(restarted);
        const seconds = (performance.now() - stormStarted) / 1000;
        result.storm = {
          streams: plan.streams,
          retries,
          listenOverflows: listenOverflows() - overflowsBefore,
          seconds: Number(seconds.toFixed(1)),
          cpuMsPerStream: Number(((processUsage(pid).cpuMs - cpuBefore) / plan.streams).toFixed(2)),
        };
        log(
          `  (f) reconnect storm: ${plan.streams} streams reopened with Last-Event-ID in ${result.storm.seconds} s (${retries} attempts retried, ${result.storm.listenOverflows} connection attempts dropped on a full accept queue), server CPU ${result.storm.cpuMsPerStream} ms each`,
        );
      }
    } finally {
      load.close();
    }
    return result;
  } finally {
    await connection.close().catch(() => undefined);
    await server.stop(); // Herald exits within 5 s of SIGTERM (and writes its profile)
    await cleanup();
  }
}

function ingestRun(): unknown {
  log(`\n[ingest] ${plan.ingestMessages} messages on PostgreSQL and PGlite`);
  const output = execFileSync(
    process.execPath,
    [
      ...['--import', 'tsx', 'bench/ingest.ts', '--json'],
      ...['--messages', String(plan.ingestMessages), '--shapes', 'plain,collapse,group,template'],
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(output.trim().split('\n').at(-1)!);
}

const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

async function main(): Promise<void> {
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.from) {
    const saved = JSON.parse(readFileSync(args.from, 'utf8')) as Parameters<typeof render>[0];
    writeDocs(render(saved), saved.runs);
    return;
  }
  const scenarios = new Set(args.scenarios.split(','));
  const targets = args.targets.split(',') as Target[];
  const everything =
    !quick &&
    args['stored-rates'] === undefined &&
    args['live-rates'] === undefined &&
    'abcdef'.split('').every((scenario) => scenarios.has(scenario)) &&
    targets.length === 3;
  const kind = quick ? 'quick' : everything ? 'full' : 'partial';
  log(`Benchmark (${kind}) on ${describeMachine()}`);
  const started = Date.now();
  const runs: TargetRun[] = [];
  for (const target of targets) runs.push(await runTarget(target, scenarios));
  const ingest = scenarios.has('e') ? ingestRun() : undefined;
  const results = {
    date: new Date().toISOString(),
    machine: describeMachine(),
    quick,
    plan,
    minutes: Number(((Date.now() - started) / 60_000).toFixed(1)),
    runs,
    ingest,
  };
  mkdirSync('bench/results', { recursive: true });
  const file = `bench/results/${kind}-${results.date.slice(0, 19).replace(/:/g, '')}.json`;
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  const report = render(results);
  process.stdout.write(`\n${report}\n`);
  log(`results: ${file} (${results.minutes} min)`);
  if (everything || args.write) writeDocs(report, runs);
  process.exit(0);
}

/** The Markdown tables of a run. */
function render(results: {
  date: string;
  machine: string;
  quick: boolean;
  minutes: number;
  runs: TargetRun[];
  ingest?: unknown;
}): string {
  const lines: string[] = [
    `Run of ${results.date.slice(0, 16).replace('T', ' ')} UTC (${results.quick ? 'quick' : 'full'}, ${results.minutes} min) on ${results.machine}.`,
    '',
  ];
  const herald = results.runs.find((run) => run.target === 'herald');
  const idleRuns = results.runs.filter((run) => run.idle.length > 0);
  if (idleRuns.length > 0) {
    lines.push('### (a) Idle streams: memory per stream', '');
    lines.push('| target | streams | RSS | per stream |', '| --- | --- | --- | --- |');
    for (const run of idleRuns) {
      for (const step of run.idle) {
        lines.push(
          `| ${run.target} | ${step.streams} | ${mb(step.rssBytes)} | ${kb(step.bytesPerStream)} |`,
        );
      }
    }
    lines.push('');
  }
  const openingRuns = results.runs.filter((run) => run.opening);
  if (openingRuns.length > 0) {
    lines.push(
      '### Opening streams',
      '',
      'Before (b)–(d), from the first request to the first event on every stream (with the load processes starting); server CPU per stream: – where the run predates that figure.',
      '',
      '| target | streams | seconds | streams/s | server CPU per stream |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const { target, opening } of openingRuns) {
      const cpu = opening!.cpuMsPerStream === undefined ? '–' : `${opening!.cpuMsPerStream} ms`;
      lines.push(
        `| ${target} | ${opening!.streams} | ${opening!.seconds} | ${opening!.perSecond} | ${cpu} |`,
      );
    }
    lines.push('');
  }
  const rateRuns = results.runs.filter((run) => run.rates.length > 0);
  if (rateRuns.length > 0) {
    lines.push(
      `### (b) Personal notifications, ${plan.streams} streams (${plan.streams / 2} users × 2 tabs)`,
      '',
    );
    lines.push(
      '| target | kind | offered/s | delivered | deliveries/s | p50 ms | p90 ms | p99 ms | max ms | server CPU | per CPU-second | load CPU |',
      '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const run of rateRuns) {
      for (const row of run.rates) {
        const l = row.latencyMs;
        lines.push(
          `| ${run.target} | ${row.kind} | ${row.rate} | ${row.received}/${row.expected} | ${row.deliveriesPerSecond} | ${l.p50} | ${l.p90} | ${l.p99} | ${l.max} | ${row.serverCpuPercent} % | ${perCpuSecond(row)} | ${row.loadCpuPercent} % |`,
        );
      }
    }
    lines.push('');
    if (herald && herald.rates.length > 0 && rateRuns.length > 1) {
      // Capacity, where the load could not saturate every target: deliveries per second of
      // server CPU, at the highest rate each kept up with (all delivered, p99 under a second).
      lines.push(
        'Herald / baseline, deliveries per CPU-second at the highest rate each kept up with:',
        '',
      );
      for (const run of rateRuns.filter((other) => other.target !== 'herald')) {
        for (const kind of ['stored', 'live'] as const) {
          const ratio = capacity(herald, kind) / capacity(run, kind);
          if (Number.isFinite(ratio)) {
            lines.push(`- ${kind}: Herald / ${run.target} = ${ratio.toFixed(2)}×`);
          }
        }
      }
      lines.push('');
    }
  }
  const broadcastRuns = results.runs.filter((run) => run.broadcasts.length > 0);
  if (broadcastRuns.length > 0) {
    lines.push('### (c) One broadcast to every stream', '');
    lines.push(
      '| target | kind | streams | p50 ms | p99 ms | last ms, each broadcast | median last ms |',
      '| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const run of broadcastRuns) {
      for (const row of run.broadcasts) {
        const lasts = row.lastMs ?? [row.latencyMs.max];
        const median = percentile(
          [...lasts].sort((a, b) => a - b),
          50,
        );
        lines.push(
          `| ${run.target} | ${row.kind} | ${row.streams} | ${row.latencyMs.p50} | ${row.latencyMs.p99} | ${lasts.join(', ')} | ${median} |`,
        );
      }
    }
    lines.push('');
  }
  if (herald && herald.live.length > 0) {
    lines.push(`### (d) Live events to ${plan.topics} topics (Herald)`, '');
    lines.push(
      '| events/s | delivered | p50 ms | p99 ms | max ms |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const row of herald.live) {
      lines.push(
        `| ${row.rate} | ${row.received}/${row.expected} | ${row.latencyMs.p50} | ${row.latencyMs.p99} | ${row.latencyMs.max} |`,
      );
    }
    lines.push('');
  }
  const stormRuns = results.runs.filter((run) => run.storm);
  if (stormRuns.length > 0) {
    lines.push(
      '### (f) Reconnect storm',
      '',
      'The server restarts with every stream of (b)–(d) open; all of them reopen at once (with their Last-Event-ID), timed from the new process being ready to the first event on every stream. Retried: attempts that failed and were made again 250 ms later. Dropped: connection attempts the kernel dropped on a full accept queue (machine-wide), each retransmitted by the client a second or more later.',
      '',
      '| target | streams | seconds | server CPU per stream | retried | dropped |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const { target, storm } of stormRuns) {
      lines.push(
        `| ${target} | ${storm!.streams} | ${storm!.seconds} | ${storm!.cpuMsPerStream} ms | ${storm!.retries} | ${storm!.listenOverflows ?? '–'} |`,
      );
    }
    lines.push('');
  }
  if (results.ingest) {
    lines.push('### (e) Ingest only (no streams)', '');
    lines.push(
      'Plain messages, messages that replace (`collapseKey`) or join a group (`group`), each user with 10 keys, and messages rendered from a template in 3 locales (`template`); a run before the shapes existed shows plain only.',
      '',
      '| storage | shape | messages | rows | seconds | stored/s |',
      '| --- | --- | --- | --- | --- | --- |',
    );
    for (const row of results.ingest as IngestRow[]) {
      lines.push(
        `| ${row.storage} | ${row.shape ?? 'plain'} | ${row.messages} | ${row.rows} | ${row.seconds} | ${row.rowsPerSecond} |`,
      );
    }
    lines.push('');
  }
  lines.push(...targetLines(results.runs, results.ingest as IngestRow[] | undefined));
  return lines.join('\n');
}

interface IngestRow {
  storage: string;
  /** Absent in runs from before the shapes. */
  shape?: 'plain' | 'collapse' | 'group' | 'template';
  messages: number;
  rows: number;
  seconds: number;
  rowsPerSecond: number;
}

/** Issue 18's targets, each from this run: Herald's figure, the baseline's, and the ratio. */
function targetLines(runs: TargetRun[], ingest: IngestRow[] | undefined): string[] {
  const herald = runs.find((run) => run.target === 'herald');
  const bare = runs.find((run) => run.target === 'bare');
  const naive = runs.find((run) => run.target === 'naive');
  if (!herald) return [];
  const rows: string[] = [];
  const fmt = (value: number, digits = 1) =>
    Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits }) : '–';
  /** `higher`: whether a larger ratio is better; `goal`: the ratio (or figure) to reach. */
  const row = (
    figure: string,
    ours: number,
    theirs: number | undefined,
    unit: string,
    goal: number,
    higher: boolean,
  ) => {
    const ratio = theirs === undefined ? ours : ours / theirs;
    const met = Number.isFinite(ratio)
      ? (higher ? ratio >= goal : ratio <= goal)
        ? 'met'
        : 'missed'
      : '–';
    const goalText =
      theirs === undefined
        ? `${higher ? '≥' : '≤'} ${goal} ${unit}`
        : `${higher ? '≥' : '≤'} ${goal}×`;
    rows.push(
      `| ${figure} | ${fmt(ours, 2)} ${unit} | ${theirs === undefined ? '' : `${fmt(theirs, 2)} ${unit}`} | ${theirs === undefined ? '' : `${fmt(ratio, 2)}×`} | ${goalText} | ${met} |`,
    );
  };
  const perStream = (run?: TargetRun) => {
    const step = run?.idle.at(-1);
    return step ? step.bytesPerStream / 1024 : NaN;
  };
  if (bare && herald.idle.length > 0 && bare.idle.length > 0) {
    row(
      'memory per idle stream (largest step)',
      perStream(herald),
      perStream(bare),
      'KB',
      2,
      false,
    );
  }
  if (bare?.opening?.cpuMsPerStream !== undefined && herald.opening?.cpuMsPerStream !== undefined) {
    row(
      'server CPU per opened stream',
      herald.opening.cpuMsPerStream,
      bare.opening.cpuMsPerStream,
      'ms',
      3,
      false,
    );
  }
  if (herald.storm) {
    row(
      `reconnect storm, ${herald.storm.streams} streams`,
      herald.storm.seconds,
      undefined,
      's',
      10,
      false,
    );
  }
  if (bare && herald.rates.length > 0 && bare.rates.length > 0) {
    row(
      'live deliveries per CPU-second',
      capacity(herald, 'live'),
      capacity(bare, 'live'),
      '',
      0.5,
      true,
    );
    row(
      'stored deliveries per CPU-second (vs bare live)',
      capacity(herald, 'stored'),
      capacity(bare, 'live'),
      '',
      0.33,
      true,
    );
  }
  const stored1000 = herald.rates.find((entry) => entry.kind === 'stored' && entry.rate === 1000);
  if (stored1000) {
    row(
      `p99 at 1,000 stored/s, ${plan.streams} streams`,
      stored1000.latencyMs.p99,
      undefined,
      'ms',
      50,
      false,
    );
  }
  const postgres = ingest?.find(
    (entry) => entry.storage === 'postgres' && (entry.shape ?? 'plain') === 'plain',
  );
  if (postgres) row('ingest on PostgreSQL', postgres.rowsPerSecond, undefined, '/s', 10000, true);
  if (naive && herald.rates.length > 0 && naive.rates.length > 0) {
    const best = (run: TargetRun) =>
      Math.max(...run.rates.map((entry) => entry.deliveriesPerSecond));
    row(
      `deliveries/s at ${plan.streams} streams (best rate)`,
      best(herald),
      best(naive),
      '/s',
      10,
      true,
    );
  }
  if (rows.length === 0) return [];
  return [
    '### Targets (issue 18), Herald against the baselines of this run',
    '',
    '| figure | Herald | baseline | Herald / baseline | goal | |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
  ];
}

/** Rewrites the results part of docs/BENCHMARKS.md and the charts it shows. */
function writeDocs(report: string, runs: TargetRun[]): void {
  mkdirSync('docs/bench', { recursive: true });
  const latency: Series[] = runs
    .filter((run) => run.rates.length > 0)
    .map((run) => ({
      name: `${run.target} p99`,
      points: run.rates.map((row) => ({ x: row.rate, y: row.latencyMs.p99 })),
    }));
  writeFileSync(
    'docs/bench/latency.svg',
    lineChart(
      'p99 latency vs offered load (10,000 streams)',
      'notifications/s',
      'p99 latency (ms, log scale)',
      latency,
      { logY: true },
    ),
  );
  const memory: Series[] = runs
    .filter((run) => run.idle.length > 0)
    .map((run) => ({
      name: run.target,
      points: run.idle.map((step) => ({ x: step.streams, y: step.rssBytes / 2 ** 20 })),
    }));
  writeFileSync(
    'docs/bench/memory.svg',
    lineChart('Server memory vs open streams', 'open streams', 'RSS (MB)', memory),
  );
  const path = 'docs/BENCHMARKS.md';
  const doc = readFileSync(path, 'utf8');
  const start = doc.indexOf('<!-- results:start -->');
  const end = doc.indexOf('<!-- results:end -->');
  if (start < 0 || end < 0) throw new Error(`${path} has no results markers`);
  writeFileSync(
    path,
    `${doc.slice(0, start)}<!-- results:start -->\n\n${report}\n<!-- results:end -->${doc.slice(end + '<!-- results:end -->'.length)}`,
  );
  // The tables as the project's formatter writes them, so that `npm run lint` stays green.
  execFileSync(process.execPath, ['node_modules/prettier/bin/prettier.cjs', '--write', path], {
    stdio: 'ignore',
  });
  log(`wrote ${path}, docs/bench/latency.svg, docs/bench/memory.svg`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
