import fc from 'fast-check';
import { amqpTopology } from '../../src/messaging/amqp-topology';
import { EVERYONE_KEY, userKey } from '../../src/realtime/realtime-bus';
import { api } from '../support/http';
import { TestStreams } from '../support/sse';
import { userToken } from '../support/tokens';
import { forgedLines, SSE_EVENTS } from './bad-messages';
import { LoadRig, openLoadRig } from './faults';
import { recordFigures } from './figures';

/*
 * Hostile input on Herald's internal queue (issue 16): every instance consumes the realtime
 * exchange, so one stray message there once took them all down. Generated messages that are not
 * what Herald sends, by construction, go to the key every instance binds and to a connected user's
 * key, among valid ones: each bad one is dropped and counted, each valid one still reaches its
 * stream, and no frame of the stream is anything but a well-formed event.
 */

const SEED = Number(process.env.HERALD_BUS_SEED ?? 0x5eed16);
const BAD = 4000;
const WATCHED = 'bus-watched';

const notification = (id: string) => ({
  id,
  userId: WATCHED,
  tenantId: null,
  type: 'forged.but.valid',
  title: `valid ${id}`,
  body: null,
  data: { n: Number(id) },
  priority: 'normal',
  topic: null,
  createdAt: '2026-12-01T10:00:00.000Z',
  readAt: null,
  archivedAt: null,
  expiresAt: null,
});

const TEMPLATES: Record<string, Record<string, unknown>> = {
  created: { kind: 'created', notification: notification('900'), previousId: null },
  updated: {
    kind: 'updated',
    recipient: { userId: WATCHED, tenantId: null },
    id: '900',
    readAt: null,
    archivedAt: null,
  },
  subscription: {
    kind: 'subscription',
    recipient: { userId: WATCHED, tenantId: null },
    topic: 'news',
    subscribed: true,
  },
  live: {
    kind: 'live',
    tenantId: null,
    userIds: [WATCHED],
    topics: [],
    broadcast: false,
    type: 'tick',
    data: {},
  },
};
const KINDS = [...Object.keys(TEMPLATES), 'bulk-updated', 'batch'];

// Values each field refuses, by construction (not by asking Herald's own parser).
const controlText = fc.string().map((text) => `${text}\r\nevent: forged\r\ndata: {}`);
const wrongType = fc.oneof(
  fc.integer(),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }),
  fc.array(fc.integer(), { minLength: 1, maxLength: 3 }),
);
const badId = fc.oneof(
  wrongType,
  controlText,
  fc.string().map((text) => `x${text}`),
  fc.constant('0'),
  fc.constant('1'.repeat(20)),
);
const badName = fc.oneof(wrongType, controlText, fc.constant(''), fc.constant(null));
const badFlag = fc.oneof(fc.integer(), controlText, fc.constant(null));

/** Where to break each template, and with what. */
const BREAKABLE: Record<string, [string[], fc.Arbitrary<unknown>][]> = {
  created: [
    [['notification'], fc.oneof(wrongType, controlText, fc.constant(null))],
    [['notification', 'id'], badId],
    [['notification', 'userId'], badName],
    [['notification', 'priority'], badName],
    [['previousId'], badId],
  ],
  updated: [
    [['recipient'], fc.oneof(wrongType, controlText, fc.constant(null))],
    [['recipient', 'userId'], badName],
    [['id'], badId],
  ],
  subscription: [
    [['topic'], badName],
    [['subscribed'], badFlag],
  ],
  live: [
    [['userIds'], fc.oneof(badFlag, fc.array(controlText, { minLength: 1, maxLength: 3 }))],
    [['type'], badName],
    [['broadcast'], badFlag],
    [['data'], fc.oneof(fc.integer(), controlText, fc.constant(null))],
  ],
};

/** A template with one field (possibly nested) replaced. */
function withField(template: Record<string, unknown>, path: string[], value: unknown) {
  const copy = structuredClone(template);
  let target = copy;
  for (const key of path.slice(0, -1)) target = target[key] as Record<string, unknown>;
  target[path[path.length - 1]] = value;
  return copy;
}

const brokenEvent: fc.Arbitrary<unknown> = fc
  .constantFrom(...Object.keys(BREAKABLE))
  .chain((kind) =>
    fc
      .constantFrom(...BREAKABLE[kind])
      .chain(([path, values]) => values.map((value) => withField(TEMPLATES[kind], path, value))),
  );

function nested(levels: number): unknown {
  let value: unknown = {};
  for (let level = 0; level < levels; level += 1) value = { a: value };
  return value;
}

/** Contents that are not a message Herald sends, whatever the draw. */
const badContent: fc.Arbitrary<{ kind: string; content: Buffer }> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...Object.values(TEMPLATES)), fc.double({ min: 0, max: 0.999 }))
    .map(([template, cut]) => {
      const text = JSON.stringify(template);
      return {
        kind: 'truncated',
        content: Buffer.from(text.slice(0, Math.floor(text.length * cut))),
      };
    }),
  fc
    .oneof(fc.integer(), fc.string(), fc.constant(null), fc.array(fc.jsonValue(), { maxLength: 3 }))
    .map((value) => ({ kind: 'not an object', content: Buffer.from(JSON.stringify(value)) })),
  fc
    .string()
    .filter((kind) => !KINDS.includes(kind))
    .map((kind) => ({
      kind: 'unknown kind',
      content: Buffer.from(JSON.stringify({ ...TEMPLATES.created, kind })),
    })),
  brokenEvent.map((event) => ({
    kind: 'broken field',
    content: Buffer.from(JSON.stringify(event)),
  })),
  brokenEvent.map((event) => ({
    kind: 'batch with a broken event',
    content: Buffer.from(JSON.stringify({ kind: 'batch', events: [TEMPLATES.updated, event] })),
  })),
  fc.integer({ min: 40, max: 3000 }).map((levels) => ({
    kind: 'nested too deep',
    content: Buffer.from(
      JSON.stringify({
        ...TEMPLATES.created,
        notification: { ...notification('901'), data: nested(levels) },
      }),
    ),
  })),
);

describe('hostile input on the realtime exchange', () => {
  let rig: LoadRig;
  const streams = new TestStreams();

  beforeAll(async () => {
    rig = await openLoadRig();
    // Thousands of dropped messages are (throttled) warnings: keep errors.
    rig.herald.app.useLogger(['fatal', 'error']);
  });

  afterAll(async () => {
    streams.closeAll();
    await rig?.close();
  });

  it('drops and counts every bad message, on every key, and still routes the valid ones', async () => {
    const { herald, broker } = rig;
    const started = Date.now();
    const watched = await streams.live(herald, { token: await userToken(WATCHED) });
    let raw = '';
    watched.response.on('data', (chunk: string) => (raw += chunk));

    const bad = fc.sample(badContent, { numRuns: BAD, seed: SEED });
    const { realtimeExchange } = amqpTopology(herald.config.amqp);
    const keys = [EVERYONE_KEY, userKey({ userId: WATCHED, tenantId: null })];
    // Every 100th message is a valid new notification for the watched user, in id order.
    const valid: string[] = [];
    for (const [index, each] of bad.entries()) {
      broker.channel.publish(realtimeExchange, keys[index % 2], each.content);
      if (index % 100 === 99) {
        const id = String(1_000_000 + index);
        valid.push(id);
        const message = { kind: 'created', notification: notification(id), previousId: null };
        broker.channel.publish(realtimeExchange, keys[1], Buffer.from(JSON.stringify(message)));
      }
      if (index % 500 === 499) await broker.channel.waitForConfirms();
    }
    await broker.channel.waitForConfirms();
    const last = valid[valid.length - 1];
    await watched.next((event) => event.event === 'notification' && event.id === last, 30_000);

    const metrics = (await api(herald, 'GET', '/metrics')).body as string;
    const counted = (reason: string) =>
      Number(
        new RegExp(`herald_realtime_messages_dropped_total\\{reason="${reason}"\\} (\\d+)`).exec(
          metrics,
        )?.[1] ?? 0,
      );
    const delivered = watched.events
      .filter((event) => event.event === 'notification')
      .map((event) => event.id);
    const badLines = forgedLines(raw);
    const byKind: Record<string, number> = {};
    for (const each of bad) byKind[each.kind] = (byKind[each.kind] ?? 0) + 1;
    const ready = await api(herald, 'GET', '/health/ready');
    const figures = {
      seed: SEED,
      bad: bad.length,
      byKind,
      valid: valid.length,
      droppedUnreadable: counted('unreadable'),
      droppedUnroutable: counted('unroutable'),
      delivered: delivered.length,
      forgedLines: badLines.length,
      readyStatus: ready.status,
      totalMs: Date.now() - started,
    };
    recordFigures('hostile realtime messages', figures);

    expect({
      droppedUnreadable: figures.droppedUnreadable,
      droppedUnroutable: figures.droppedUnroutable,
      delivered,
      badLines: badLines.slice(0, 10),
      foreignEvents: watched.events.filter((e) => e.event && !SSE_EVENTS.includes(e.event)),
      ready: ready.status,
    }).toEqual({
      droppedUnreadable: BAD,
      droppedUnroutable: 0,
      delivered: valid,
      badLines: [],
      foreignEvents: [],
      ready: 200,
    });
  });
});
