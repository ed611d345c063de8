import type { MessageEvent } from '@nestjs/common';
import type { AuthenticatedUser } from '../auth/authenticated-user';
import type { Notification } from '../notifications/notification';
import { Observable } from 'rxjs';
import { Stream, StreamContext } from './stream';
import type { StreamSignal } from './stream-signal';

const ada: AuthenticatedUser = {
  userId: 'ada',
  tenantId: null,
  roles: [],
  expiresAt: new Date(Date.now() + 3_600_000),
};

function created(id: string, previousId: string | null): StreamSignal {
  const notification = { id, userId: 'ada', tenantId: null, title: `#${id}` } as Notification;
  return { kind: 'created', notification, previousId };
}

/**
 * One open stream of `ada`, storage at `position` (nothing to replay), with the router left out.
 * With `read`, storage answers once it resolves, and the stream is handed back still opening.
 */
async function openStream(position: string, lastEventId?: string, read?: Promise<void>) {
  const inbox = {
    unreadState: async () => {
      await read;
      return { count: 0, unseen: 0, position };
    },
    listAfter: () => Promise.resolve([] as Notification[]),
    reached: () => Promise.resolve(true),
  };
  const context: StreamContext = {
    inbox,
    router: { attach: () => Promise.resolve() },
    counts: { opened: () => undefined },
    metrics: {
      delivered: () => undefined,
      latency: { observe: () => undefined },
      replayed: { inc: () => undefined },
    },
    logger: { warn: () => undefined },
    heartbeatMs: 3_600_000,
  };
  const frames: MessageEvent[] = [];
  let ended = false;
  let stream: Stream | undefined;
  const subscription = new Observable<MessageEvent>((subscriber) => {
    stream = new Stream(context, ada, subscriber);
    void stream.open(lastEventId);
    return () => stream?.close();
  }).subscribe({ next: (frame) => frames.push(frame), complete: () => (ended = true) });
  const live = async () => {
    while (frames.length === 0) await Promise.resolve(); // the first unread-count
  };
  if (!read) await live();
  const deliver = (signal: StreamSignal) => stream!.receive(signal);
  const sent = () =>
    frames
      .filter((frame) => frame.type === 'notification')
      .map((frame) => [frame.id, (JSON.parse(frame.data as string) as { id: string }).id]);
  const expectSent = (stored: string) => stream!.expectSent(stored);
  return {
    frames,
    sent,
    deliver,
    expectSent,
    live,
    ended: () => ended,
    close: () => subscription.unsubscribe(),
  };
}

describe('Stream: notifications stored on two instances', () => {
  afterEach(() => jest.useRealTimers());

  it('sends them in the order they were stored, whatever order they arrive in', async () => {
    const stream = await openStream('10');
    stream.deliver(created('13', '12')); // stored here after 11 and 12 were stored elsewhere
    stream.deliver(created('12', '11'));
    expect(stream.sent()).toEqual([]); // the position never passes one not sent yet
    stream.deliver(created('11', '10'));
    // [position, notification]
    expect(stream.sent()).toEqual([
      ['11', '11'],
      ['12', '12'],
      ['13', '13'],
    ]);
    stream.deliver(created('12', '11')); // a repeat changes nothing
    stream.deliver(created('14', '9')); // its predecessor came before the stream opened
    expect(stream.sent().map(([, id]) => id)).toEqual(['11', '12', '13', '14']);
    stream.close();
  });

  it('does not wait for one the replay left out (expired or deleted)', async () => {
    const stream = await openStream('10', '5'); // 6 to 10: expired, nothing replayed
    stream.deliver(created('11', '10'));
    expect(stream.sent()).toEqual([['11', '11']]);
    stream.close();
  });

  it('ends the stream when a predecessor does not come within 5 s: the client replays from 10', async () => {
    const stream = await openStream('10');
    jest.useFakeTimers();
    stream.deliver(created('12', '11')); // 11 was lost between instances
    jest.advanceTimersByTime(4_999);
    expect(stream.ended()).toBe(false);
    jest.advanceTimersByTime(1);
    expect(stream.ended()).toBe(true);
    expect(stream.frames.at(-1)).toEqual({ id: '10', retry: 250, comment: 'gap: reconnect' });
    expect(stream.sent()).toEqual([]);
  });

  it('does not end the stream for gaps that each closed in time', async () => {
    const stream = await openStream('10');
    jest.useFakeTimers();
    stream.deliver(created('12', '11'));
    jest.advanceTimersByTime(4_000);
    stream.deliver(created('11', '10')); // closes the first gap
    stream.deliver(created('14', '13')); // a second one opens
    jest.advanceTimersByTime(4_000);
    expect(stream.ended()).toBe(false);
    stream.deliver(created('13', '12'));
    jest.advanceTimersByTime(10_000);
    expect(stream.ended()).toBe(false);
    expect(stream.sent().map(([, id]) => id)).toEqual(['11', '12', '13', '14']);
    stream.close();
  });
});

describe('Stream: after the bus lost messages', () => {
  afterEach(() => jest.useRealTimers());

  it('goes on when what storage holds arrives within 5 s, or was sent already', async () => {
    const stream = await openStream('10');
    expect(stream.expectSent('10')).toBe(false);
    jest.useFakeTimers();
    expect(stream.expectSent('12')).toBe(true);
    jest.advanceTimersByTime(4_000);
    stream.deliver(created('11', '10'));
    stream.deliver(created('12', '11'));
    jest.advanceTimersByTime(10_000);
    expect(stream.ended()).toBe(false);
    expect(stream.sent().map(([, id]) => id)).toEqual(['11', '12']);
    stream.close();
  });

  it('ends when it does not, for the client to replay from its position', async () => {
    const stream = await openStream('10');
    jest.useFakeTimers();
    stream.expectSent('12');
    stream.deliver(created('11', '10')); // 12 was lost with the bus, and nothing follows it
    jest.advanceTimersByTime(4_999);
    expect(stream.ended()).toBe(false);
    jest.advanceTimersByTime(1);
    expect(stream.ended()).toBe(true);
    expect(stream.frames.at(-1)).toEqual({
      id: '11',
      retry: expect.any(Number),
      comment: 'realtime bus was away: reconnect',
    });
  });

  it('awaits it from going live when told while opening; a second call does not give more time', async () => {
    jest.useFakeTimers();
    let answer!: () => void;
    const stream = await openStream('10', undefined, new Promise((resolve) => (answer = resolve)));
    expect(stream.expectSent('11')).toBe(true); // still opening: storage not read yet
    jest.advanceTimersByTime(10_000);
    expect(stream.ended()).toBe(false);
    answer();
    await stream.live();
    jest.advanceTimersByTime(3_000);
    expect(stream.expectSent('12')).toBe(true);
    stream.deliver(created('11', '10'));
    jest.advanceTimersByTime(1_999);
    expect(stream.ended()).toBe(false);
    jest.advanceTimersByTime(1); // 5 s after going live, 12 still not sent
    expect(stream.ended()).toBe(true);
  });

  it('awaits nothing once closed', async () => {
    const stream = await openStream('10');
    stream.close();
    expect(stream.expectSent('99')).toBe(false);
  });
});
