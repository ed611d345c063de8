import {
  COOKIE_ATTEMPTS,
  coveredBy,
  HeraldClient,
  HeraldNotification,
  reconnectDelay,
} from './herald-client.js';

describe('reconnectDelay', () => {
  it('doubles from the first delay up to the longest, with ±50 % jitter', () => {
    const middle = () => 0.5;
    expect(
      [0, 1, 2, 3, 10, 100].map((attempt) => reconnectDelay(attempt, 500, 30_000, middle)),
    ).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
    expect(reconnectDelay(2, 500, 30_000, () => 0)).toBe(1000);
    expect(reconnectDelay(2, 500, 30_000, () => 0.999)).toBe(2998);
  });
});

describe('coveredBy', () => {
  const item = (
    id: string,
    readAt: string | null,
    archivedAt: string | null = null,
    more: Partial<HeraldNotification> = {},
  ) =>
    ({
      id,
      readAt,
      archivedAt,
      seenAt: null,
      snoozedUntil: null,
      type: 't',
      category: null,
      createdAt: '2026-12-01T09:00:00.000Z',
      ...more,
    }) as HeraldNotification;
  const readAll = {
    upTo: '100',
    filter: { status: 'unread' as const },
    set: { read: true },
    at: '2026-12-01T10:00:00.000Z',
  };

  it('covers the unread, not archived notifications at or below upTo', () => {
    expect(coveredBy(item('99', null), readAll)).toBe(true);
    expect(coveredBy(item('100', null), readAll)).toBe(true);
    // Ids compare as numbers: "101" is above "100", "99" below it.
    expect(coveredBy(item('101', null), readAll)).toBe(false);
    expect(coveredBy(item('1000', null), readAll)).toBe(false);
    expect(coveredBy(item('5', '2026-12-01T09:00:00.000Z'), readAll)).toBe(false);
    expect(coveredBy(item('5', null, '2026-12-01T09:00:00.000Z'), readAll)).toBe(false);
  });
});

describe('coveredBy (v1.1 filters)', () => {
  const base = {
    id: '5',
    readAt: null,
    archivedAt: null,
    seenAt: null,
    snoozedUntil: null,
    type: 'comment',
    category: 'social',
    createdAt: '2026-12-01T09:00:00.000Z',
  } as HeraldNotification;
  const change = (filter: object) => ({
    upTo: '10',
    filter,
    set: { read: true },
    at: '2026-12-01T10:00:00.000Z',
  });
  const now = Date.parse('2026-12-01T10:00:00.000Z');
  const asleep = { ...base, snoozedUntil: '2026-12-01T11:00:00.000Z' };
  const archived = { ...base, archivedAt: '2026-12-01T09:30:00.000Z' };

  it.each([
    ['type', { type: 'comment' }, base, true],
    ['another type', { type: 'like' }, base, false],
    ['category', { category: 'social' }, base, true],
    ['another category', { category: 'ops' }, base, false],
    ['created before', { before: '2026-12-01T09:30:00.000Z' }, base, true],
    ['created at or after', { before: '2026-12-01T09:00:00.000Z' }, base, false],
    ['named', { ids: ['5'] }, base, true],
    ['not named', { ids: ['6'] }, base, false],
    ['named, archived', { ids: ['5'] }, archived, true],
    ['named, snoozed', { ids: ['5'] }, asleep, true],
    ['all, snoozed', {}, asleep, false],
    ['snoozed', { status: 'snoozed' }, asleep, true],
    ['snoozed, awake', { status: 'snoozed' }, base, false],
    ['unseen', { status: 'unseen' }, base, true],
    ['unseen, read', { status: 'unseen' }, { ...base, readAt: '2026-12-01T09:10:00.000Z' }, false],
    ['unseen, seen', { status: 'unseen' }, { ...base, seenAt: '2026-12-01T09:10:00.000Z' }, false],
  ])('%s', (_name, filter, notification, expected) => {
    expect(coveredBy(notification, change(filter) as never, now)).toBe(expected);
  });
});

describe("HeraldClient with stream: 'cookie'", () => {
  /** Enough of EventSource for the client: the test opens, refuses or sends events. */
  class FakeSource {
    static readonly CLOSED = 2;
    static made: FakeSource[] = [];
    readyState = 0;
    onopen?: () => void;
    onerror?: () => void;
    readonly listeners = new Map<string, (event: unknown) => void>();

    constructor(
      readonly url: string,
      readonly init: { withCredentials: boolean },
    ) {
      FakeSource.made.push(this);
    }

    addEventListener(name: string, listener: (event: unknown) => void) {
      this.listeners.set(name, listener);
    }

    close() {
      this.readyState = FakeSource.CLOSED;
    }

    open() {
      this.readyState = 1;
      this.onopen?.();
    }

    send(name: string, data: object, lastEventId: string) {
      this.listeners.get(name)?.({ data: JSON.stringify(data), lastEventId });
    }

    refuse() {
      this.readyState = FakeSource.CLOSED;
      this.onerror?.();
    }
  }

  let calls: string[];
  let answerSession: () => void;
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), { headers: { 'content-type': 'application/json' } });
  const fakeFetch = (async (url: string, init?: RequestInit) => {
    const path = `${init?.method ?? 'GET'} ${url.replace('https://h', '')}`;
    calls.push(path);
    if (path === 'POST /api/v1/stream/session') {
      await new Promise<void>((resolve) => (answerSession = resolve));
      return new Response(null, { status: 204 });
    }
    if (path.startsWith('GET /api/v1/notifications?')) return json({ items: [] });
    if (path === 'GET /api/v1/notifications/unread-count') return json({ count: 0, unseen: 0 });
    return new Promise<Response>(() => undefined); // tickets and their streams: never answered
  }) as unknown as typeof fetch;
  const client = () =>
    new HeraldClient({
      url: 'https://h',
      token: 't',
      stream: 'cookie',
      fetch: fakeFetch,
      EventSource: FakeSource as unknown as typeof EventSource,
      minDelayMs: 1,
      maxDelayMs: 1,
    });
  /** Lets the client's awaits run. */
  const settle = () => new Promise((resolve) => setTimeout(resolve, 5));
  const sessionAnswered = async () => {
    while (!calls.includes('POST /api/v1/stream/session')) await settle();
    answerSession();
    await settle();
  };

  beforeEach(() => {
    calls = [];
    FakeSource.made = [];
  });

  it('opens no EventSource when closed while the session is being made', async () => {
    const inbox = client();
    inbox.connect();
    while (calls.length === 0) await settle();
    inbox.close();
    answerSession();
    await settle();
    expect(FakeSource.made).toHaveLength(0);
    expect(inbox.status).toBe('closed');
  });

  it('renews the session when it expires and goes on from the last position', async () => {
    const inbox = client();
    inbox.connect();
    await sessionAnswered();
    const [first] = FakeSource.made;
    expect([first.url, first.init]).toEqual([
      'https://h/api/v1/notifications/stream',
      { withCredentials: true },
    ]);
    first.open();
    expect(inbox.status).toBe('open');
    first.send('unread-count', { count: 2, unseen: 1 }, '41');
    expect(inbox.unreadCount).toBe(2);
    first.send('auth-expired', {}, '41');
    expect(first.readyState).toBe(FakeSource.CLOSED);
    calls = [];
    await sessionAnswered();
    expect(FakeSource.made.map((source) => source.url)).toEqual([
      'https://h/api/v1/notifications/stream',
      'https://h/api/v1/notifications/stream?lastEventId=41',
    ]);
    inbox.close();
  });

  it(`goes over to tickets after ${COOKIE_ATTEMPTS} sessions that opened no stream`, async () => {
    // The client is ESM, where Jest's `jest` object is not a global: console.warn by hand.
    const inbox = client();
    const warnings: unknown[][] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => warnings.push(args);
    try {
      inbox.connect();
      for (let attempt = 1; attempt <= COOKIE_ATTEMPTS; attempt += 1) {
        await sessionAnswered();
        calls = calls.filter((call) => call !== 'POST /api/v1/stream/session');
        FakeSource.made[attempt - 1].refuse(); // e.g. 401: the browser did not send the cookie
      }
      while (!calls.includes('POST /api/v1/stream/tickets')) await settle();
      expect(FakeSource.made).toHaveLength(COOKIE_ATTEMPTS);
      expect(warnings).toEqual([[expect.stringContaining('using stream tickets')]]);
    } finally {
      inbox.close();
      console.warn = warn;
    }
  });
});
