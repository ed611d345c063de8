import { freshState } from '../notifications/notification';
import { MAX_BUS_MESSAGE_BYTES, parseBusMessage, UnreadableBusMessage } from './bus-message';
import { offTheWire, onTheWire } from './realtime-bus';

const json = (value: unknown) => Buffer.from(JSON.stringify(value));

/** `{ a: { a: … } }`, `levels` deep. */
function deep(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let level = 0; level < levels; level += 1) value = { a: value };
  return value;
}

const notification = {
  id: '42',
  userId: 'ada',
  tenantId: null,
  type: 'order.shipped',
  title: 'Shipped',
  body: null,
  data: { orderId: 1 },
  priority: 'normal',
  topic: null,
  createdAt: '2026-12-01T10:00:00.000Z',
  readAt: null,
  archivedAt: null,
  expiresAt: null,
  url: '/orders/1',
  actions: [{ id: 'track', label: 'Track', url: '/orders/1/tracking' }],
  category: 'orders',
  seenAt: '2026-12-01T10:00:01.000Z',
  interactedAt: null,
  interaction: null,
  snoozedUntil: null,
  collapseKey: null,
  groupKey: null,
  groupCount: 1,
  actors: [],
  locale: null,
};

describe('parseBusMessage', () => {
  it.each([
    { kind: 'created', notification, previousId: '41', sentAt: 1 },
    { kind: 'created', notification, previousId: null },
    {
      kind: 'updated',
      recipient: { userId: 'ada', tenantId: 'acme' },
      id: '42',
      readAt: '2026-12-01T10:00:00.000Z',
      archivedAt: null,
      deleted: true,
    },
    {
      kind: 'updated',
      recipient: { userId: 'ada', tenantId: null },
      id: '42',
      readAt: '2026-12-01T10:00:00.000Z',
      archivedAt: null,
      seenAt: '2026-12-01T10:00:00.000Z',
      interactedAt: '2026-12-01T10:00:00.000Z',
      interaction: 'approve',
      snoozedUntil: null,
    },
    {
      kind: 'bulk-updated',
      recipient: { userId: 'ada', tenantId: null },
      upTo: '42',
      filter: {
        status: 'unseen',
        type: 'order.shipped',
        category: 'orders',
        before: '2026-12-01T10:00:00.000Z',
        ids: ['41', '42'],
      },
      set: { read: true, seen: true, archived: false },
      at: '2026-12-01T10:00:00.000Z',
    },
    {
      kind: 'subscription',
      recipient: { userId: 'ada', tenantId: null },
      topic: 'x',
      subscribed: true,
    },
    {
      kind: 'live',
      tenantId: null,
      userIds: ['ada'],
      topics: [],
      broadcast: false,
      type: 'typing',
      data: {},
    },
    {
      kind: 'bulk-updated',
      recipient: { userId: 'ada', tenantId: null },
      upTo: '42',
      filter: { status: 'unread' },
      set: { read: true },
      at: '2026-12-01T10:00:00.000Z',
    },
    { kind: 'batch', events: [{ kind: 'created', notification }] },
    {
      kind: 'batch',
      events: [
        { kind: 'created', notification },
        {
          kind: 'live',
          tenantId: null,
          userIds: ['ada'],
          topics: [],
          broadcast: false,
          type: 'x',
          data: {},
        },
      ],
    },
  ])('accepts what Herald sends: %j', (message) => {
    expect(parseBusMessage(json(message))).toEqual(message);
  });

  it('refuses a message larger than it parses, before parsing it', () => {
    const huge = Buffer.alloc(MAX_BUS_MESSAGE_BYTES + 1, ' ');
    expect(() => parseBusMessage(huge)).toThrow('larger than');
  });

  it('drops fields it does not know (a newer instance may send more)', () => {
    expect(
      parseBusMessage(json({ kind: 'created', notification: { ...notification, colour: 'red' } })),
    ).toEqual({ kind: 'created', notification });
  });

  it("fills in the v1.1 fields of an older instance's notification with their defaults", () => {
    const { id, userId, tenantId, type, title, body, data, priority, topic, createdAt } =
      notification;
    const v1 = { id, userId, tenantId, type, title, body, data, priority, topic, createdAt };
    const old = { ...v1, readAt: null, archivedAt: null, expiresAt: null };
    expect(parseBusMessage(json({ kind: 'created', notification: old }))).toEqual({
      kind: 'created',
      notification: { ...old, url: null, actions: [], category: null, ...freshState() },
    });
  });

  it.each([
    ['{', 'not JSON'],
    [JSON.stringify({}), 'kind'],
    [JSON.stringify([]), 'message'],
    [JSON.stringify(null), 'message'],
    [JSON.stringify({ kind: 'created' }), 'notification'],
    [
      JSON.stringify({ kind: 'created', notification: { ...notification, id: '1\nevent: x' } }),
      'notification.id',
    ],
    [
      JSON.stringify({ kind: 'created', notification: { ...notification, userId: 'a\r\n' } }),
      'notification.userId',
    ],
    [JSON.stringify({ kind: 'created', notification, previousId: 'x' }), 'previousId'],
    [JSON.stringify({ kind: 'updated', recipient: 'ada', id: '1' }), 'recipient'],
    [JSON.stringify({ kind: 'batch', events: [{}] }), 'events.0.kind'],
    [JSON.stringify({ kind: 'batch', events: [{ kind: 'live' }] }), 'events.0.tenantId'],
    [JSON.stringify({ kind: 'batch', events: [{ kind: 'batch', events: [] }] }), 'events.0.kind'],
    [JSON.stringify({ kind: 'live', userIds: 'ada' }), 'tenantId'],
    [
      JSON.stringify({ kind: 'created', notification: { ...notification, data: deep(100) } }),
      'nested deeper than',
    ],
    [
      JSON.stringify({ kind: 'created', notification: { ...notification, title: 'a\u0000' } }),
      'NUL',
    ],
  ])('refuses %s, naming where', (content, where) => {
    expect(() => parseBusMessage(Buffer.from(content))).toThrow(UnreadableBusMessage);
    expect(() => parseBusMessage(Buffer.from(content))).toThrow(where);
  });
});

describe('bulk changes on the bus', () => {
  const recipient = { userId: 'ada', tenantId: null };
  const at = new Date('2026-12-01T10:00:00.000Z');
  const bulk = (filter: object, set: object) =>
    ({ kind: 'bulk-updated', recipient, upTo: '42', filter, set, at }) as const;

  it('sends what v1 instances read right as it is, the rest under a kind they drop', () => {
    expect(onTheWire(bulk({ status: 'unread' }, { read: true })).kind).toBe('bulk-updated');
    expect(onTheWire(bulk({}, { read: false })).kind).toBe('bulk-updated');
    for (const [filter, set] of [
      [{ type: 'x' }, { read: true }],
      [{ status: 'unseen' }, { read: true }],
      [{ ids: ['1'] }, { read: true }],
      [{}, { seen: true }],
      [{ status: 'all' }, { archived: true }],
    ]) {
      const wire = onTheWire(bulk(filter, set));
      expect(wire.kind).toBe('bulk-filtered');
      const parsed = parseBusMessage(json(wire));
      expect(offTheWire(parsed as never)).toEqual({ ...bulk(filter, set), at: at.toISOString() });
    }
  });

  it('refuses a link a page must not follow', () => {
    for (const url of ['javascript:alert(1)', '//evil.example', '/\\evil.example']) {
      expect(() =>
        parseBusMessage(json({ kind: 'created', notification: { ...notification, url } })),
      ).toThrow(UnreadableBusMessage);
    }
  });
});
