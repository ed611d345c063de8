import { Subject } from 'rxjs';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import type { Inbox } from '../notifications/inbox/inbox';
import { Recipient, recipientKey, UnreadState } from '../notifications/notification';
import { BusLossCheck } from './bus-loss-check';
import type { RealtimeBus } from './realtime-bus';
import type { Stream } from './stream';
import type { Streams } from './streams';
import type { UnreadCounts } from './unread-counts';

const user = (userId: string): AuthenticatedUser => ({
  userId,
  tenantId: null,
  roles: [],
  expiresAt: new Date(Date.now() + 3_600_000),
});

/** A stream at `position`: what it is told, and whether it ended. */
function fakeStream(userId: string, position: string) {
  const told: string[] = [];
  const stream = {
    user: user(userId),
    ended: false,
    told,
    expectSent: (stored: string) => {
      told.push(stored);
      return stored > position;
    },
    endForReconnect: () => (stream.ended = true),
  };
  return stream;
}

function rig(streams: ReturnType<typeof fakeStream>[], positions: Record<string, string>) {
  const lost = new Subject<void>();
  const reads: Recipient[][] = [];
  let failures = 0;
  let reading = 0;
  const concurrency = { most: 0 };
  const inbox = {
    unreadStates: async (recipients: Recipient[]) => {
      reads.push(recipients);
      reading += 1;
      concurrency.most = Math.max(concurrency.most, reading);
      await Promise.resolve();
      reading -= 1;
      if (failures > 0) {
        failures -= 1;
        throw new Error('storage unavailable');
      }
      const states = new Map<string, UnreadState>();
      for (const recipient of recipients) {
        const position = positions[recipient.userId];
        if (position) states.set(recipientKey(recipient), { count: 1, unseen: 1, position });
      }
      return states;
    },
  };
  const recounted: string[] = [];
  const counts = { recount: (recipient: Recipient) => recounted.push(recipient.userId) };
  const check = new BusLossCheck(
    { lost$: lost.asObservable() } as unknown as RealtimeBus,
    { all: () => streams as unknown as Stream[] } as unknown as Streams,
    inbox as unknown as Inbox,
    counts as unknown as UnreadCounts,
  );
  check.onModuleInit();
  const settle = async () => {
    for (let i = 0; i < 20; i += 1) await Promise.resolve();
  };
  const fail = (times: number) => (failures = times);
  return { lost, reads, recounted, settle, fail, concurrency };
}

describe('BusLossCheck', () => {
  afterEach(() => jest.useRealTimers());

  it('tells each stream what storage holds for its user, reading each user once, and recounts', async () => {
    const tabs = [fakeStream('ada', '10'), fakeStream('ada', '10'), fakeStream('bob', '7')];
    const { lost, reads, recounted, settle } = rig(tabs, { ada: '12', bob: '7' });
    lost.next();
    await settle();
    expect(reads.map((batch) => batch.map((r) => r.userId))).toEqual([['ada', 'bob']]);
    expect(tabs.map((tab) => tab.told)).toEqual([['12'], ['12'], ['7']]);
    expect(tabs.some((tab) => tab.ended)).toBe(false);
    expect(recounted).toEqual(['ada', 'bob']);
  });

  it('tells a user without notifications 0, and reads 500 users a query, one after the other', async () => {
    const tabs = Array.from({ length: 1001 }, (_, i) => fakeStream(`u${i}`, '0'));
    const { lost, reads, settle, concurrency } = rig(tabs, {});
    lost.next();
    await settle();
    expect(reads.map((batch) => batch.length)).toEqual([500, 500, 1]);
    expect(concurrency.most).toBe(1);
    expect(new Set(tabs.flatMap((tab) => tab.told))).toEqual(new Set(['0']));
  });

  it('ends the streams of users whose storage cannot be read, after three tries a second apart', async () => {
    jest.useFakeTimers();
    const tabs = [fakeStream('ada', '10')];
    const { lost, reads, settle, fail } = rig(tabs, { ada: '12' });
    fail(3);
    lost.next();
    await settle();
    expect(reads).toHaveLength(1);
    jest.advanceTimersByTime(1000);
    await settle();
    jest.advanceTimersByTime(1000);
    await settle();
    expect(reads).toHaveLength(3);
    expect(tabs[0].ended).toBe(true);
    expect(tabs[0].told).toEqual([]);
  });

  it('runs one check at a time: losses announced during one make one more', async () => {
    const tabs = [fakeStream('ada', '10')];
    const { lost, reads, settle } = rig(tabs, { ada: '10' });
    lost.next();
    lost.next();
    lost.next();
    await settle();
    await settle();
    expect(reads).toHaveLength(2);
  });
});
