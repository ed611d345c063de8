import { rabbitmqctl } from '../support/amqp';
import { api } from '../support/http';
import { recordFigures } from './figures';
import { FaultRig, FollowedUser, expectEachOnceInOrder, receivedAll, timeUntil } from './faults';

const TOTAL = 30_000;
const USERS = Array.from({ length: 100 }, (_, i) => `broker-${i}`);

/**
 * RabbitMQ fails under a running Herald: first every connection is closed, then the broker app
 * stops and starts again. Herald must recover by itself, and lose and double nothing.
 */
describe('RabbitMQ faults during a burst', () => {
  let rig: FaultRig;

  beforeAll(async () => {
    rig = await FaultRig.create({ AMQP_PREFETCH: '50' }); // a slower drain: faults land mid-burst
  });

  afterAll(() => rig?.cleanup());

  it('recovers from closed connections and a broker restart without a restart of its own', async () => {
    const { process, herald } = await rig.start();
    const followed = USERS.map((userId) => new FollowedUser(userId));
    try {
      await Promise.all(followed.map((user) => user.open(herald)));
      await rig.publishBurst('broker', USERS, TOTAL);
      const ready = async () => (await api(herald, 'GET', '/health/ready')).status === 200;
      const storedRows = async () => (await rig.stored()).rows;

      // Fault 1: every connection closed by the broker.
      await timeUntil(async () => (await storedRows()) >= TOTAL * 0.2, 60_000);
      const beforeClose = await storedRows();
      await rabbitmqctl('close_all_connections', 'reliability test');
      const closeRecoveryMs = await timeUntil(
        async () => (await ready()) && (await storedRows()) > beforeClose + 100,
        60_000,
      );

      // Fault 2: the broker application stops (3 s) and starts again.
      await timeUntil(async () => (await storedRows()) >= TOTAL * 0.5, 60_000);
      await rabbitmqctl('stop_app');
      const whileDown = await storedRows();
      const notReadyMs = await timeUntil(async () => !(await ready()), 10_000);
      await new Promise((resolve) => setTimeout(resolve, 3_000)); // the outage itself
      await rabbitmqctl('start_app');
      await rabbitmqctl('await_startup');
      const restartRecoveryMs = await timeUntil(
        async () => (await ready()) && (await storedRows()) > whileDown + 100,
        60_000,
      );

      await timeUntil(async () => (await storedRows()) >= TOTAL, 120_000);
      await receivedAll(followed, TOTAL / USERS.length);

      const stored = await rig.stored();
      expect(stored).toEqual({ rows: TOTAL, keys: TOTAL });
      expect(await rig.deadLetters()).toBe(0);
      expect(await rig.ingestQueue()).toEqual({ ready: 0, unacked: 0 });
      expect(process.child.exitCode).toBeNull(); // the same process throughout
      const duplicated = await expectEachOnceInOrder(rig, followed);
      recordFigures('RabbitMQ faults', {
        messages: TOTAL,
        streams: USERS.length,
        faults: ['close_all_connections', 'stop_app 3 s + start_app'],
        closeToResumedMs: closeRecoveryMs,
        stopToNotReadyMs: notReadyMs,
        startAppToResumedMs: restartRecoveryMs,
        stored: stored.rows,
        lost: TOTAL - stored.keys,
        duplicatedRows: stored.rows - stored.keys,
        duplicatedDeliveries: duplicated,
        heraldRestarts: 0,
      });
    } finally {
      for (const user of followed) user.close();
      await rabbitmqctl('start_app').catch(() => undefined); // never leave the broker stopped
      await process.stop();
    }
  });
});
