import { recordFigures } from './figures';
import { FaultRig, FollowedUser, expectEachOnceInOrder, receivedAll, timeUntil } from './faults';

const TOTAL = 10_000;
/** 500 each: a reconnecting stream's gap never passes the replay limit (500), so no resync. */
const USERS = Array.from({ length: 20 }, (_, i) => `pair-${i}`);

/**
 * Two Herald processes share the database and the queues, each user has a tab on each, and both
 * store the same users' notifications at once: what one stores reaches the other's tabs through
 * the realtime exchange, and can arrive after a newer one stored by the receiving instance. Then
 * one is killed mid-burst (with changes on their way to the other) and its tabs move to the other.
 */
describe('two instances, one killed mid-burst', () => {
  let rig: FaultRig;

  beforeAll(async () => {
    rig = await FaultRig.create({ AMQP_PREFETCH: '50' }); // both instances take part in the burst
  });

  afterAll(() => rig?.cleanup());

  it('every tab gets every notification of its user once, on either instance', async () => {
    const [a, b] = await Promise.all([rig.start(), rig.start()]);
    const onA = USERS.map((userId) => new FollowedUser(userId));
    const onB = USERS.map((userId) => new FollowedUser(userId));
    try {
      await Promise.all([
        ...onA.map((user) => user.open(a.herald)),
        ...onB.map((user) => user.follow(b.herald)),
      ]);
      await rig.publishBurst('pair', USERS, TOTAL);
      await timeUntil(async () => (await rig.stored()).rows >= TOTAL * 0.3, 60_000);
      a.process.child.kill('SIGKILL');
      await Promise.all(onA.map((user) => user.whenEnded()));
      const atKill = await rig.stored();
      const moved = Date.now();
      await Promise.all(onA.map((user) => user.follow(b.herald)));
      const reopenMs = Date.now() - moved;

      await timeUntil(async () => (await rig.stored()).rows >= TOTAL, 60_000);
      const tabs = [...onA, ...onB];
      await receivedAll(tabs, TOTAL / USERS.length);
      // Each tab's count took in every notification once, whatever instance stored it.
      const each = TOTAL / USERS.length;
      const counted = () => tabs.every((tab) => (tab.take(), tab.unreadCount === each));
      await timeUntil(counted, 10_000).catch(() => undefined);
      expect(tabs.map((tab) => tab.unreadCount)).toEqual(tabs.map(() => each));

      const stored = await rig.stored();
      expect(stored).toEqual({ rows: TOTAL, keys: TOTAL });
      expect(await rig.deadLetters()).toBe(0);
      // Each once and in id order, also where the other instance stored the one before.
      const duplicated = await expectEachOnceInOrder(rig, tabs);
      recordFigures('two instances, one killed', {
        messages: TOTAL,
        users: USERS.length,
        tabs: USERS.length * 2,
        storedAtKill: atKill.rows,
        tabsMovedInMs: reopenMs,
        stored: stored.rows,
        lost: TOTAL - stored.keys,
        duplicatedRows: stored.rows - stored.keys,
        duplicatedDeliveries: duplicated,
        // Ended by B when a notification's predecessor did not come (lost with A), and reopened.
        streamsReopenedAfterGap: tabs.reduce((sum, tab) => sum + tab.reopened, 0),
      });
    } finally {
      for (const user of [...onA, ...onB]) user.close();
      await Promise.all([a.process.stop(), b.process.stop()]);
    }
  });
});
