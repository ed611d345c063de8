import { InboxEvents } from '../notifications/inbox-events';
import { Notification, Recipient, recipientKey } from '../notifications/notification';
import type { NotificationsService } from '../notifications/notifications.service';
import type { TopicsService } from '../notifications/topics.service';
import type { RealtimeBus } from './realtime-bus';
import { RealtimeRouter, StreamSignal } from './realtime-router';
import { StreamRegistry } from './stream-registry';

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
    readAt: null,
    archivedAt: null,
    expiresAt: null,
  };
}

/** The router with a real registry and events, and a database whose unread count we set. */
function setUp() {
  const registry = new StreamRegistry<StreamSignal>();
  const events = new InboxEvents();
  const stored = { count: 0 };
  const notifications = {
    unreadCounts: (recipients: Recipient[]) =>
      Promise.resolve(new Map(recipients.map((r) => [recipientKey(r), stored.count]))),
  } as unknown as NotificationsService;
  const bus = { publish: () => undefined, remote$: new InboxEvents().events$ };
  const router = new RealtimeRouter(
    registry,
    notifications,
    {} as TopicsService,
    events,
    bus as unknown as RealtimeBus,
  );
  router.onModuleInit();
  const open = (firstCount: number) => {
    const received: StreamSignal[] = [];
    registry.add(alice, (signal) => received.push(signal));
    router.opened(alice, firstCount);
    return received;
  };
  return { router, events, stored, open };
}

const counts = (signals: StreamSignal[]) =>
  signals.flatMap((signal) => (signal.kind === 'unread-count' ? [signal.count] : []));

describe('RealtimeRouter unread counts', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('sends a new notification with the count plus one, in the same turn, and confirms it silently', async () => {
    const { events, stored, open } = setUp();
    const stream = open(3);
    stored.count = 4;
    events.emit({ kind: 'created', notification: notification('10') });
    expect(stream.map((signal) => signal.kind)).toEqual(['created', 'unread-count']);
    expect(counts(stream)).toEqual([4]);
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([4]);
  });

  it('corrects the count when the recount finds another value', async () => {
    const { events, stored, open } = setUp();
    const stream = open(3);
    stored.count = 1; // read elsewhere meanwhile
    events.emit({ kind: 'created', notification: notification('10') });
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([4, 1]);
  });

  it('sends a recount after an update only when the count changed', async () => {
    const { events, stored, open } = setUp();
    const stream = open(2);
    const update = { kind: 'updated', recipient: alice, id: '1', archivedAt: null } as const;
    stored.count = 2;
    events.emit({ ...update, readAt: null });
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([]);
    stored.count = 1;
    events.emit({ ...update, readAt: new Date() });
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(stream)).toEqual([1]);
  });

  it('does not guess when two streams of the user started from different counts', async () => {
    const { events, stored, open } = setUp();
    const first = open(3);
    const second = open(5);
    stored.count = 6;
    events.emit({ kind: 'created', notification: notification('10') });
    expect(counts(first)).toEqual([]);
    await jest.advanceTimersByTimeAsync(50);
    expect(counts(first)).toEqual([6]);
    expect(counts(second)).toEqual([6]);
  });
});
