import { HeraldMetrics } from '../metrics/herald-metrics';
import { InboxEvents } from '../notifications/inbox-events';
import {
  freshState,
  Notification,
  Recipient,
  recipientKey,
  UnreadState,
} from '../notifications/notification';
import type { Inbox } from '../notifications/inbox/inbox';
import type { Topics } from '../notifications/audience/topics';
import { Subject } from 'rxjs';
import { BusMessage, EVERYONE_KEY, RealtimeBus, userKey } from './realtime-bus';
import { RealtimeRouter } from './realtime-router';
import { StreamRegistry } from './stream-registry';
import type { StreamSignal } from './stream-signal';
import { UnreadCounts } from './unread-counts';

/** The other instances: what this one publishes, and what they send it. */
class FakeBus extends RealtimeBus {
  readonly published: { keys: string[]; message: BusMessage }[] = [];
  readonly remote = new Subject<BusMessage>();
  readonly remote$ = this.remote.asObservable();
  readonly lost$ = new Subject<void>().asObservable();

  bind(): Promise<void> {
    return Promise.resolve();
  }

  unbind(): Promise<void> {
    return Promise.resolve();
  }

  publish(keys: string[], message: BusMessage): void {
    this.published.push({ keys, message });
  }
}

const alice: Recipient = { userId: 'alice', tenantId: null };

function notification(id: string): Notification {
  return {
    id,
    userId: alice.userId,
    tenantId: null,
    type: 'test',
    title: 'Hello',
    body: null,
    data: {},
    priority: 'normal',
    topic: null,
    createdAt: new Date(),
    expiresAt: null,
    url: null,
    actions: [],
    category: null,
    ...freshState(),
  };
}

/** The router with a real registry and events, and a database whose unread state we set. */
function setUp() {
  const registry = new StreamRegistry();
  const events = new InboxEvents();
  /** `gate`: when set, a read answers (what was stored when it began) only once it resolves. */
  const stored: UnreadState & { reads: number; gate?: Promise<void> } = {
    count: 0,
    unseen: 0,
    position: '0',
    reads: 0,
  };
  const notifications = {
    unreadStates: async (recipients: Recipient[]) => {
      stored.reads += 1;
      const { count, position } = stored;
      await stored.gate;
      return new Map(recipients.map((r) => [recipientKey(r), { count, unseen: count, position }]));
    },
  } as unknown as Inbox;
  const bus = new FakeBus();
  const counts = new UnreadCounts(registry, notifications);
  const router = new RealtimeRouter(
    registry,
    counts,
    {} as Topics,
    events,
    bus,
    new HeraldMetrics(),
  );
  router.onModuleInit();
  const open = (count: number, position: string, nextExpiry?: Date) => {
    const received: StreamSignal[] = [];
    registry.add(alice, { receive: (signal) => received.push(signal) });
    counts.opened(alice, { count, unseen: count, position, nextExpiry });
    return received;
  };
  return { router, events, stored, open, published: bus.published, remote: bus.remote };
}

const counts = (signals: StreamSignal[]) =>
  signals.flatMap((signal) => (signal.kind === 'unread-count' ? [signal.count] : []));
const created = (id: string) => ({ kind: 'created', notification: notification(id) }) as const;

describe('RealtimeRouter on bad input', () => {
  it('survives a change whose routing throws, and routes the next one', () => {
    const { remote, open } = setUp();
    const received = open(0, '0');
    // A shape the bus would refuse; should one still get through, it costs only itself.
    remote.next({ kind: 'created' } as unknown as BusMessage);
    remote.next({ kind: 'batch', events: [null] } as unknown as BusMessage);
    remote.next(created('7'));
    expect(received.map((signal) => signal.kind)).toEqual(['created', 'unread-count']);
  });
});

describe('RealtimeRouter unread counts', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sends a new notification with the count plus one, in the same turn, without a query', async () => {
    const { events, stored, open } = setUp();
    const stream = open(3, '9');
    events.emit(created('10'));
    expect(stream.map((signal) => signal.kind)).toEqual(['created', 'unread-count']);
    events.emit(created('11'));
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([4, 5]);
    expect(stored.reads).toBe(0);
  });

  it('does not count twice a notification the first count took in already', async () => {
    const { events, stored, open } = setUp();
    const stream = open(3, '10'); // notification 10 was committed before the stream counted
    events.emit(created('10'));
    await jest.advanceTimersByTimeAsync(50);
    expect(stream.map((signal) => signal.kind)).toEqual(['created']);
    expect(stored.reads).toBe(0);
  });

  it('counts a notification another instance stored before one stored here, arriving after it', async () => {
    const { events, remote, stored, open } = setUp();
    const stream = open(3, '9');
    events.emit(created('11')); // stored here
    remote.next(created('10')); // stored elsewhere first, over RabbitMQ later
    remote.next(created('10')); // and once only
    await jest.advanceTimersByTimeAsync(50);
    expect(stream.map((signal) => signal.kind)).toEqual([
      'created',
      'unread-count',
      'created',
      'unread-count',
      'created',
    ]);
    expect(counts(stream)).toEqual([4, 5]);
    expect(stored.reads).toBe(0);
  });

  it('reads the count again for one that arrives later than the ids it keeps one by one', async () => {
    const { events, remote, stored, open } = setUp();
    const stream = open(0, '0');
    for (let id = 2; id <= 200; id += 2) events.emit(created(String(id))); // 100 stored here
    stored.count = 101;
    stored.position = '200';
    remote.next(created('1')); // stored elsewhere first, arriving after 100 newer ones
    await jest.advanceTimersByTimeAsync(50);
    expect(stored.reads).toBe(1);
    expect(counts(stream).at(-1)).toBe(101);
  });

  it('reads the count again once a notification it takes in expires', async () => {
    const { events, stored, open } = setUp();
    // Opened with 2 unread, one of which expires in 1.5 s.
    const stream = open(2, '5', new Date(Date.now() + 1500));
    stored.count = 1;
    await jest.advanceTimersByTimeAsync(2600);
    expect(stored.reads).toBe(1);
    expect(counts(stream)).toEqual([1]);
    // A new one that expires too: counted now (+1), read again once it expired.
    const expiring = { ...notification('6'), expiresAt: new Date(Date.now() + 1000) };
    events.emit({ kind: 'created', notification: expiring });
    await jest.advanceTimersByTimeAsync(2100);
    expect(stored.reads).toBe(2);
    expect(counts(stream)).toEqual([1, 2, 1]);
  });

  it('recounts after an update, and sends the count only when it changed', async () => {
    const { events, stored, open } = setUp();
    const stream = open(2, '5');
    const update = { kind: 'updated', recipient: alice, id: '1', archivedAt: null } as const;
    Object.assign(stored, { count: 2, position: '5' });
    events.emit({ ...update, readAt: null });
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([]);
    stored.count = 1;
    events.emit({ ...update, readAt: new Date() });
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([1]);
    expect(stored.reads).toBe(2);
  });

  it('counts again when a notification was counted while the recount was read', async () => {
    const { events, stored, open } = setUp();
    const stream = open(2, '5');
    let release!: () => void;
    stored.gate = new Promise((resolve) => (release = resolve));
    Object.assign(stored, { count: 1, position: '5' }); // notification 1 read elsewhere
    events.emit({
      kind: 'updated',
      recipient: alice,
      id: '1',
      readAt: new Date(),
      archivedAt: null,
    });
    await jest.advanceTimersByTimeAsync(25); // the recount reads (1, up to 5)...
    events.emit(created('6')); // ...while 6 is stored and counted: 2 + 1
    Object.assign(stored, { count: 2, position: '6' });
    release();
    await jest.advanceTimersByTimeAsync(0);
    expect(counts(stream)).toEqual([3]); // the recount may be behind: not sent
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([3, 2]);
    expect(stored.reads).toBe(2);
  });

  it('sends the lower count when the newest notification counted is deleted, and stops there', async () => {
    const { events, stored, open } = setUp();
    const stream = open(3, '9');
    events.emit(created('10')); // 4
    Object.assign(stored, { count: 3, position: '9' }); // 10 deleted: not in the position either
    events.emit({
      kind: 'updated',
      recipient: alice,
      id: '10',
      readAt: null,
      archivedAt: null,
      deleted: true,
    });
    await jest.advanceTimersByTimeAsync(200);
    expect(counts(stream)).toEqual([4, 3]);
    expect(stored.reads).toBe(1);
  });

  it('recounts when two tabs of the user started from different counts', async () => {
    const { events, stored, open } = setUp();
    const first = open(3, '9');
    const second = open(4, '10');
    Object.assign(stored, { count: 5, position: '11' });
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(first)).toEqual([5]);
    expect(counts(second)).toEqual([5]);
    events.emit(created('12'));
    expect(counts(first)).toEqual([5, 6]);
    expect(counts(second)).toEqual([5, 6]);
  });
});

describe('RealtimeRouter and the other instances', () => {
  it('forwards a few changes one message each, and a burst as one message to all, live events apart', async () => {
    const { events, published, router } = setUp();
    const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
    events.emit(created('1'));
    events.emit(created('2'));
    await nextTurn();
    expect(published.map((each) => each.keys)).toEqual([[userKey(alice)], [userKey(alice)]]);
    published.length = 0;
    for (let id = 10; id < 50; id += 1) events.emit(created(String(id)));
    const live = { tenantId: null, userIds: ['bob'], topics: [], broadcast: false, data: {} };
    router.pushLive({ kind: 'live', type: 'typing', ...live });
    await nextTurn();
    expect(published).toHaveLength(2); // the inbox changes batched, the live event on its own
    expect(published[0].keys).toEqual([EVERYONE_KEY]);
    expect(published[0].message).toMatchObject({ kind: 'batch', events: { length: 40 } });
    expect(published[1].message).toMatchObject({ kind: 'live', type: 'typing' });
    published.length = 0;
    for (let i = 0; i < 40; i += 1) router.pushLive({ kind: 'live', type: `t${i}`, ...live });
    await nextTurn();
    expect(published).toHaveLength(1);
    const batch = published[0].message as Extract<BusMessage, { kind: 'batch' }>;
    expect(batch.events.map((event) => (event as { type: string }).type)).toEqual(
      Array.from({ length: 40 }, (_, i) => `t${i}`),
    );
  });

  it('routes each change of a burst from another instance to the streams here', () => {
    const { open, remote } = setUp();
    const stream = open(0, '0');
    remote.next({ kind: 'batch', events: [created('1'), created('2')] });
    const ids = stream.flatMap((signal) =>
      signal.kind === 'created' ? [signal.notification.id] : [],
    );
    expect(ids).toEqual(['1', '2']);
  });
});
