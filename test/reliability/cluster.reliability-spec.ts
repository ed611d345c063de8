import { freePortPair } from '../support/ports';
import { recordFigures } from './figures';
import { FaultRig, FollowedUser, expectEachOnceInOrder, receivedAll, timeUntil } from './faults';
import { DIST_OFFSET, RabbitCluster } from './rabbit-cluster';

const TOTAL = 20_000;
/** 500 each: a reconnecting stream's gap never passes the replay limit (500), so no resync. */
const USERS = Array.from({ length: 40 }, (_, i) => `cluster-${i}`);

/**
 * A three-node RabbitMQ cluster with quorum queues; Herald knows all three nodes (AMQP_URL) and
 * is connected to the first. Mid-burst, that node stops.
 */
describe('a RabbitMQ node stops under a burst (three-node cluster, quorum queues)', () => {
  let cluster: RabbitCluster;
  let rig: FaultRig;

  beforeAll(async () => {
    // AMQP ports, and distribution ports DIST_OFFSET above them: both must be free.
    const ports: number[] = [];
    while (ports.length < 3) ports.push(await freePortPair(DIST_OFFSET));
    cluster = await RabbitCluster.start(ports);
    rig = await FaultRig.create({ AMQP_URL: cluster.urls.join(','), AMQP_QUEUE_TYPE: 'quorum' });
  }, 180_000);

  afterAll(async () => {
    await rig?.storage.drop();
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
      // Readiness, watched from before the stop: it must go down, then up again by itself.
      const ready = async () =>
        (await fetch(`${herald.url}/health/ready`).catch(() => undefined))?.status === 200;
      const stoppedAt = Date.now();
      const recovered = timeUntil(async () => !(await ready()), 30_000).then(() =>
        timeUntil(ready, 60_000),
      );
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
});
