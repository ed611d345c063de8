import { recordFigures } from './figures';
import { FaultRig, FollowedUser, expectEachOnceInOrder, receivedAll, timeUntil } from './faults';

const TOTAL = 10_000;
/** 500 each: a reconnecting stream's gap never passes the replay limit (500), so no resync. */
const USERS = Array.from({ length: 20 }, (_, i) => `crash-${i}`);

describe('kill -9 in the middle of a burst', () => {
  let rig: FaultRig;

  beforeAll(async () => {
    rig = await FaultRig.create();
  });

  afterAll(() => rig?.cleanup());

  it('stores every notification once, and reconnecting clients get each once, in order', async () => {
    const first = await rig.start();
    const followed = USERS.map((userId) => new FollowedUser(userId));
    await Promise.all(followed.map((user) => user.open(first.herald)));

    await rig.publishBurst('crash', USERS, TOTAL);
    // Mid-burst: some delivered live, most still in the queue.
    await timeUntil(async () => (await rig.stored()).rows >= 2_000, 60_000);
    first.process.child.kill('SIGKILL');
    await Promise.all(followed.map((user) => user.whenEnded()));
    const atKill = await rig.stored();
    for (const user of followed) user.take();
    const liveBeforeKill = followed.reduce((sum, user) => sum + user.ids.length, 0);

    const restarted = Date.now();
    const second = await rig.start();
    try {
      await Promise.all(followed.map((user) => user.open(second.herald)));
      const allStoredMs = await timeUntil(async () => (await rig.stored()).rows >= TOTAL, 60_000);
      const restartToAllStoredMs = Date.now() - restarted;
      await receivedAll(followed, TOTAL / USERS.length);

      const stored = await rig.stored();
      expect(stored).toEqual({ rows: TOTAL, keys: TOTAL });
      expect(await rig.deadLetters()).toBe(0);
      const duplicated = await expectEachOnceInOrder(rig, followed);
      recordFigures('crash (kill -9 mid-burst)', {
        messages: TOTAL,
        users: USERS.length,
        storedAtKill: atKill.rows,
        deliveredLiveBeforeKill: liveBeforeKill,
        restartToAllStoredMs,
        allStoredAfterReadyMs: allStoredMs,
        stored: stored.rows,
        lost: TOTAL - stored.keys,
        duplicatedRows: stored.rows - stored.keys,
        duplicatedDeliveries: duplicated,
      });
    } finally {
      for (const user of followed) user.close();
      await second.process.stop();
    }
  });
});
