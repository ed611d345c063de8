import { amqpTopology } from '../../src/messaging/amqp-topology';
import type { RunningHerald } from '../support/herald';
import { freePortPair } from '../support/ports';
import { recordFigures } from './figures';
import { FaultRig, FollowedUser, expectEachOnceInOrder, receivedAll, timeUntil } from './faults';
import { DIST_OFFSET, RabbitCluster } from './rabbit-cluster';

const TOTAL = 20_000;
/** 500 each: a reconnecting stream's gap never passes the replay limit (500), so no resync. */
const USERS = Array.from({ length: 40 }, (_, i) => `cluster-${i}`);

/** Notifications an instance stored (its herald_notifications_ingested_total{outcome="stored"}). */
async function storedCount(herald: RunningHerald): Promise<number> {
  const metrics = await (await fetch(`${herald.url}/metrics`)).text();
  const line = /^herald_notifications_ingested_total\{outcome="stored"\} (\d+)$/m.exec(metrics);
  return Number(line?.[1] ?? 0);
}

/** Readiness, watched from before a stop: it must go down, then up again by itself. */
function recovery(herald: RunningHerald): Promise<unknown> {
  const ready = async () =>
    (await fetch(`${herald.url}/health/ready`).catch(() => undefined))?.status === 200;
  return timeUntil(async () => !(await ready()), 30_000).then(
    () => timeUntil(ready, 60_000),
    (error) => Promise.reject(new Error(`${herald.url} stayed ready: ${String(error)}`)),
  );
}

/**
 * A three-node RabbitMQ cluster with quorum queues. First, one Herald knows all three nodes
 * (AMQP_URL) and is connected to the first; mid-burst, that node stops. Then, with the node back,
 * two instances on two different nodes; mid-burst, the node of one of them stops, and the ingest
 * queue's leader with it.
 */
describe('a RabbitMQ node stops under a burst (three-node cluster, quorum queues)', () => {
  let cluster: RabbitCluster;
  let rig: FaultRig;
  let pair: FaultRig | undefined;

  beforeAll(async () => {
    // AMQP ports, and distribution ports DIST_OFFSET above them: both must be free.
    const ports: number[] = [];
    while (ports.length < 3) ports.push(await freePortPair(DIST_OFFSET));
    cluster = await RabbitCluster.start(ports);
    rig = await FaultRig.create({ AMQP_URL: cluster.urls.join(','), AMQP_QUEUE_TYPE: 'quorum' });
  }, 180_000);

  afterAll(async () => {
    await rig?.storage.drop();
    await pair?.storage.drop();
    await cluster?.stop();
  });

  it('stores every notification once, reconnects by itself, and streams get each once, in order', async () => {
    expect(await cluster.runningNodes(0)).toBe(3);
    const { process, herald } = await rig.start();
    const followed = USERS.map((userId) => new FollowedUser(userId));
    try {
      await Promise.all(followed.map((user) => user.follow(herald)));
      // Published through the last node, which stays up.
      const publishing = rig.publishBurst('cluster', USERS, TOTAL, cluster.urls[2]);
      await timeUntil(async () => (await rig.stored()).rows >= 3_000, 60_000);
      const atStop = await rig.stored();
      const stoppedAt = Date.now();
      const recovered = recovery(herald);
      await cluster.stopNode(0); // the node Herald is connected to (AMQP_URL's first)
      await recovered;
      const consumingAgainMs = Date.now() - stoppedAt;
      await publishing;
      await timeUntil(async () => (await rig.stored()).keys >= TOTAL, 120_000);
      const allStoredMs = Date.now() - stoppedAt;
      await receivedAll(followed, TOTAL / USERS.length);

      const stored = await rig.stored();
      expect(stored).toEqual({ rows: TOTAL, keys: TOTAL });
      expect(await rig.deadLetters(cluster.urls[1])).toBe(0);
      expect(await cluster.runningNodes(1)).toBe(2);
      const duplicated = await expectEachOnceInOrder(rig, followed);
      // Its ingest connection went from the first node to another one, by itself.
      const ingest = [...process.output().matchAll(/herald-ingest \S+ connected to \S+:(\d+)/g)];
      const [first, port] = [ingest[0]?.[1], ingest.at(-1)?.[1]];
      expect(first).toBe(String(cluster.nodes[0].port));
      expect([cluster.nodes[1].port, cluster.nodes[2].port].map(String)).toContain(port);
      recordFigures('RabbitMQ cluster: a node stops mid-burst', {
        nodes: 3,
        queueType: 'quorum',
        messages: TOTAL,
        users: USERS.length,
        storedAtStop: atStop.rows,
        readyAgainAfterMs: consumingAgainMs,
        allStoredAfterStopMs: allStoredMs,
        stored: stored.rows,
        lost: TOTAL - stored.keys,
        duplicatedRows: stored.rows - stored.keys,
        duplicatedDeliveries: duplicated,
      });
    } finally {
      for (const user of followed) user.close();
      await process.stop();
    }
  });

  it('two instances on two nodes: the node of one, and the queue leader, stop; nothing lost or twice', async () => {
    await cluster.restartNode(0);
    await timeUntil(async () => (await cluster.runningNodes(1)) === 3, 60_000);
    pair = await FaultRig.create({ AMQP_URL: cluster.urls.join(','), AMQP_QUEUE_TYPE: 'quorum' });
    const [victim, other, publisher] = [1, 2, 0];
    /** AMQP_URL with the node at `front` first: the one an instance connects to. */
    const urls = (front: number) =>
      [front, ...[0, 1, 2].filter((i) => i !== front)].map((i) => cluster.urls[i]).join(',');
    const users = USERS.map((userId) => `${userId}-pair`);
    const followed = users.map((userId) => new FollowedUser(userId));
    let first: Awaited<ReturnType<FaultRig['start']>> | undefined;
    let second: typeof first;
    try {
      // The first instance declares the ingest queue on its node, which then leads it.
      first = await pair.start({ AMQP_URL: urls(victim) });
      second = await pair.start({ AMQP_URL: urls(other) });
      const queue = amqpTopology(pair.config.amqp).ingestQueue;
      expect(await cluster.leaderOf(queue, publisher)).toBe(victim);
      const [a, b] = [first.herald, second.herald];
      await Promise.all(followed.map((user, i) => user.follow(i % 2 === 0 ? a : b)));
      const publishing = pair.publishBurst('pair', users, TOTAL, cluster.urls[publisher]);
      await timeUntil(async () => (await pair!.stored()).rows >= 3_000, 60_000);
      const atStop = await pair.stored();
      const stoppedAt = Date.now();
      const recovered = recovery(first.herald);
      await cluster.stopNode(victim);
      await recovered;
      const firstReadyAgainMs = Date.now() - stoppedAt;
      await publishing;
      await timeUntil(async () => (await pair!.stored()).keys >= TOTAL, 120_000);
      const allStoredMs = Date.now() - stoppedAt;
      await receivedAll(followed, TOTAL / users.length);

      const stored = await pair.stored();
      expect(stored).toEqual({ rows: TOTAL, keys: TOTAL });
      expect(await pair.deadLetters(cluster.urls[publisher])).toBe(0);
      const duplicated = await expectEachOnceInOrder(pair, followed);
      const leaderAfter = await cluster.leaderOf(queue, publisher);
      expect([publisher, other]).toContain(leaderAfter);
      // Both instances stored part of the burst, the one whose node stayed up all along too.
      const storedBy = await Promise.all([a, b].map(storedCount));
      expect(storedBy.map((count) => count > 0)).toEqual([true, true]);
      expect(storedBy[0] + storedBy[1]).toBe(TOTAL); // a redelivered one counts as a duplicate
      recordFigures('RabbitMQ cluster: two instances, one node (and the queue leader) stops', {
        nodes: 3,
        instances: 2,
        queueType: 'quorum',
        messages: TOTAL,
        users: users.length,
        leaderBefore: `node ${victim} (stopped)`,
        leaderAfter: `node ${leaderAfter}`,
        storedAtStop: atStop.rows,
        firstReadyAgainAfterMs: firstReadyAgainMs,
        allStoredAfterStopMs: allStoredMs,
        stored: stored.rows,
        lost: TOTAL - stored.keys,
        duplicatedRows: stored.rows - stored.keys,
        duplicatedDeliveries: duplicated,
        reopenedStreams: followed.map((user) => user.reopened).reduce((a, b) => a + b, 0),
        storedBy,
      });
    } finally {
      for (const user of followed) user.close();
      await Promise.all([first?.process.stop(), second?.process.stop()]);
    }
  });
});
