import { api } from '../support/http';
import { testDatabaseUrl } from '../support/storage';
import { TcpProxy } from '../support/tcp-proxy';
import { recordFigures } from './figures';
import { FaultRig, timeUntil } from './faults';

const TOTAL = 20_000;
const OUTAGE_MS = 10_000;
const USERS = Array.from({ length: 50 }, (_, i) => `db-${i}`);

/**
 * PostgreSQL becomes unreachable for 10 s while Herald ingests (a proxy between them drops every
 * connection and refuses new ones). Nothing may be acknowledged before it is stored, nothing lost.
 */
describe('PostgreSQL unreachable during ingest', () => {
  let rig: FaultRig;
  let proxy: TcpProxy;

  beforeAll(async () => {
    const database = new URL(testDatabaseUrl());
    proxy = await TcpProxy.start(database.hostname, Number(database.port || 5432));
    const throughProxy = new URL(database);
    throughProxy.host = `127.0.0.1:${proxy.port}`;
    rig = await FaultRig.create({ DATABASE_URL: throughProxy.toString(), AMQP_PREFETCH: '50' });
  });

  afterAll(async () => {
    await proxy?.close();
    await rig?.cleanup();
  });

  it('acknowledges nothing early, loses nothing, and resumes by itself', async () => {
    const { process, herald } = await rig.start();
    try {
      await rig.publishBurst('db', USERS, TOTAL);
      await timeUntil(async () => (await rig.stored()).rows >= TOTAL * 0.2, 60_000);

      proxy.block();
      const blockedAt = Date.now();
      let samples = 0;
      let maxAckedAhead = -Infinity;
      while (Date.now() - blockedAt < OUTAGE_MS) {
        // Acknowledged = published − still in the queue. Read before the rows: rows only grow.
        const queue = await rig.ingestQueue();
        const acked = TOTAL - queue.ready - queue.unacked;
        const { rows } = await rig.stored(); // directly, not through the proxy
        maxAckedAhead = Math.max(maxAckedAhead, acked - rows);
        samples += 1;
      }
      const readyDuringOutage = await api(herald, 'GET', '/health/ready').then(
        (response) => response.status,
        (error: unknown) => {
          throw new Error(
            `${String(error)}; Herald exited ${process.child.exitCode}:\n${process.output().slice(-3000)}`,
          );
        },
      );
      const storedAtUnblock = (await rig.stored()).rows;
      proxy.unblock();
      const resumedMs = await timeUntil(
        async () => (await rig.stored()).rows > storedAtUnblock,
        30_000,
      );
      await timeUntil(async () => (await rig.stored()).rows >= TOTAL, 120_000);
      await timeUntil(
        async () => (await api(herald, 'GET', '/health/ready')).status === 200,
        10_000,
      );

      const stored = await rig.stored();
      expect(maxAckedAhead).toBeLessThanOrEqual(0); // never acknowledged before stored
      expect(readyDuringOutage).toBe(503);
      expect(stored).toEqual({ rows: TOTAL, keys: TOTAL });
      expect(await rig.deadLetters()).toBe(0);
      expect(process.child.exitCode).toBeNull();
      recordFigures('PostgreSQL unreachable', {
        messages: TOTAL,
        outageMs: OUTAGE_MS,
        storedAtUnblock,
        ackSamplesDuringOutage: samples,
        acknowledgedAheadOfStored: Math.max(0, maxAckedAhead),
        readyDuringOutage,
        unblockToResumedMs: resumedMs,
        stored: stored.rows,
        lost: TOTAL - stored.keys,
        duplicatedRows: stored.rows - stored.keys,
        deadLettered: 0,
      });
    } finally {
      await process.stop();
    }
  });
});
