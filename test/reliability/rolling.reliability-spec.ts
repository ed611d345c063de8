import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect } from 'amqplib';
import { HeraldProcess, startHeraldProcess } from '../../bench/support/herald-process';
import { amqpTopology, assertTopology } from '../../src/messaging/amqp-topology';
import { TEST_AMQP_URL } from '../support/amqp';
import type { RunningHerald } from '../support/herald';
import { freePort } from '../support/ports';
import { recordFigures } from './figures';
import { FaultRig, FollowedUser, expectEachOnceInOrder, timeUntil } from './faults';

const INSTANCES = 3;
const USERS = Array.from({ length: 30 }, (_, i) => `rolling-${i}`);
/** Notifications a second while the instances restart, spread over the users. */
const RATE = 100;
const HAPROXY_CONFIG = join(__dirname, '..', '..', 'deploy', 'haproxy.cfg');

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** HAProxy's view of each server (`/stats;csv`): `UP`, `DOWN`, `MAINT`, … by server name. */
async function serverStates(statsPort: number): Promise<Map<string, string>> {
  const csv = await (await fetch(`http://127.0.0.1:${statsPort}/stats;csv`)).text();
  const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n');
  const columns = header.split(',');
  const [proxy, server, status] = ['pxname', 'svname', 'status'].map((c) => columns.indexOf(c));
  return new Map(
    rows
      .map((row) => row.split(','))
      .filter((fields) => fields[proxy] === 'herald' && fields[server].startsWith('herald-'))
      .map((fields) => [fields[server], fields[status]]),
  );
}

/**
 * Three Herald instances behind HAProxy, with deploy/haproxy.cfg as it ships, restarted one after
 * the other (SIGTERM, then a new process on the same port) while notifications keep coming and
 * 30 clients follow their streams through the load balancer as browsers do (reconnecting after
 * the server's `retry:`, with Last-Event-ID).
 */
describe('rolling restart of three instances behind HAProxy', () => {
  let rig: FaultRig;
  const ports: number[] = [];
  let lbPort: number;
  let statsPort: number;
  let haproxy: ChildProcess;
  const instances: HeraldProcess[] = [];

  const startInstance = async (index: number): Promise<HeraldProcess> => {
    const process = startHeraldProcess({ ...rig.env, PORT: String(ports[index]) });
    await process.ready;
    return process;
  };
  const upInHaproxy = (name: string) =>
    timeUntil(async () => (await serverStates(statsPort)).get(name) === 'UP', 30_000);

  beforeAll(async () => {
    rig = await FaultRig.create();
    for (let i = 0; i < INSTANCES; i += 1) ports.push(await freePort());
    lbPort = await freePort();
    statsPort = await freePort();
    // One at a time: the first declares the topology and runs the migrations.
    for (let i = 0; i < INSTANCES; i += 1) instances.push(await startInstance(i));
    haproxy = spawn('haproxy', ['-db', '-f', HAPROXY_CONFIG], {
      env: {
        ...process.env,
        HERALD_LB_BIND: '127.0.0.1',
        HERALD_LB_PORT: String(lbPort),
        HERALD_LB_STATS_PORT: String(statsPort),
        ...Object.fromEntries(ports.map((port, i) => [`HERALD_${i + 1}`, `127.0.0.1:${port}`])),
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let complaints = '';
    haproxy.stderr!.on('data', (chunk: Buffer) => (complaints += chunk.toString()));
    await timeUntil(async () => {
      if (haproxy.exitCode !== null) throw new Error(`haproxy exited: ${complaints}`);
      const states = await serverStates(statsPort).catch(() => new Map<string, string>());
      return states.size === INSTANCES && [...states.values()].every((state) => state === 'UP');
    }, 30_000);
  }, 120_000);

  afterAll(async () => {
    haproxy?.kill('SIGTERM');
    await Promise.all(instances.map((instance) => instance.stop()));
    await rig?.cleanup();
  });

  it('loses nothing, doubles nothing, and draining sends clients to the other instances', async () => {
    const lb = { url: `http://127.0.0.1:${lbPort}`, config: rig.config } as RunningHerald;
    const followed = USERS.map((userId) => new FollowedUser(userId));
    try {
      await rollUnderLoad(lb, followed);
    } finally {
      for (const user of followed) user.close();
    }
  });

  async function rollUnderLoad(lb: RunningHerald, followed: FollowedUser[]): Promise<void> {
    await Promise.all(followed.map((user) => user.follow(lb, { browserLike: true })));

    // Steady load, published with confirms, until the last instance is back.
    const connection = await connect(TEST_AMQP_URL);
    const channel = await connection.createConfirmChannel();
    const topology = amqpTopology(rig.config.amqp);
    await assertTopology(channel, topology);
    let published = 0;
    let loading = true;
    const load = (async () => {
      const started = Date.now();
      while (loading) {
        const due = Math.floor(((Date.now() - started) / 1000) * RATE);
        for (; published < due; published += 1) {
          const body = {
            id: `rolling-${published}`,
            recipients: { userIds: [USERS[published % USERS.length]] },
            type: 'rolling',
            title: `#${published}`,
          };
          channel.publish(
            topology.exchange,
            'notification.rolling',
            Buffer.from(JSON.stringify(body)),
            {
              contentType: 'application/json',
              persistent: true,
            },
          );
        }
        await channel.waitForConfirms();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    /** Per instance: from its SIGTERM until HAProxy sees its successor up. */
    const windows: { name: string; from: number; to: number; drainMs: number }[] = [];
    try {
      for (let i = 0; i < INSTANCES; i += 1) {
        const name = `herald-${i + 1}`;
        const from = Date.now();
        await instances[i].stop(); // SIGTERM: readiness 503, streams end with a retry, then exit
        const drainMs = Date.now() - from;
        instances[i] = await startInstance(i);
        await upInHaproxy(name);
        windows.push({ name, from, to: Date.now(), drainMs });
      }
    } finally {
      loading = false;
      await load;
      await connection.close();
    }

    await timeUntil(async () => (await rig.stored()).keys >= published, 60_000);
    // User u gets every USERS.length-th notification, from the u-th.
    const dueFor = (u: number) => Math.max(0, Math.ceil((published - u) / USERS.length));
    await timeUntil(
      () => followed.every((user, u) => (user.take(), user.ids.length >= dueFor(u))),
      30_000,
    );
    const stored = await rig.stored();
    expect(stored).toEqual({ rows: published, keys: published });
    const duplicated = await expectEachOnceInOrder(rig, followed);
    expect(duplicated).toBe(0);

    // Draining sends clients elsewhere: of the clients on an instance when it got SIGTERM, some
    // reconnected to another instance (the others waited long enough to find its successor back
    // in rotation, which leastconn then prefers).
    const instanceAt = (user: FollowedUser, at: number) =>
      user.connections.filter((c) => c.at <= at).at(-1)?.instance;
    const moved = windows.map((window) => {
      const onIt = followed.filter((user) => instanceAt(user, window.from) === window.name);
      const next = onIt.map((user) => user.connections.find((c) => c.at > window.from));
      return {
        onIt: onIt.length,
        elsewhere: next.filter((c) => c && c.instance !== window.name).length,
      };
    });
    expect(moved.every(({ elsewhere }) => elsewhere > 0)).toBe(true);
    const gaps = followed.flatMap((user) => user.gaps);
    expect(gaps.length).toBeGreaterThan(0);
    recordFigures('rolling restart, 3 instances behind HAProxy', {
      instances: INSTANCES,
      clients: USERS.length,
      published,
      ratePerSecond: RATE,
      stored: stored.rows,
      lost: published - stored.keys,
      duplicatedRows: stored.rows - stored.keys,
      duplicatedDeliveries: duplicated,
      reconnects: gaps.length,
      gapP50Ms: percentile(gaps, 50),
      gapP99Ms: percentile(gaps, 99),
      gapMaxMs: Math.max(...gaps),
      clientsOnTheStoppedInstance: moved.map(({ onIt }) => onIt),
      reconnectedElsewhere: moved.map(({ elsewhere }) => elsewhere),
      drainMs: windows.map((window) => window.drainMs),
      restartMs: windows.map((window) => window.to - window.from),
    });
  }
});
