/**
 * Seeded generation of bad (and odd but valid) messages for the malformed-input test; `seeded`
 * serves the other specs too.
 */
import type { Options } from 'amqplib';

export const BAD_MESSAGES = 10_000;
export const VALID_MESSAGES = 500;
/** Valid messages published a second time with the same id: stored once all the same. */
export const REPEATED_MESSAGES = 50;
const USERS = ['v0', 'v1', 'v2', 'v3', 'v4'];
/** Has an SSE stream open during the run. */
export const WATCHED = 'v0';
export const SEED = 0x4e7a1d;
export const SSE_EVENTS = [
  'notification',
  'notification.updated',
  'notification.bulk-updated',
  'unread-count',
  'resync',
  'live',
  'auth-expired',
];

const SSE_LINE = new RegExp(
  `^(|: ping|retry: \\d+|id: \\d+|data: .*|event: (${SSE_EVENTS.map((name) => name.replace('.', '\\.')).join('|')}))$`,
  's',
);

/** The lines of a raw event stream that are not one Herald writes (forged by some input). */
export function forgedLines(raw: string): string[] {
  return raw.split('\n').filter((line) => !SSE_LINE.test(line));
}

type DeadCode =
  'too-large' | 'unsupported-content-type' | 'invalid-json' | 'no-handler' | 'invalid';

/** A notification as it must be stored for each recipient. */
interface Stored {
  userIds: string[];
  tenantId: string | null;
  key?: string;
  type: string;
  title: string;
  body: string | null;
  data: unknown;
  priority: string;
}

/** What must become of a message, from the contract and the validation rules in src/. */
export type Outcome =
  | { dead: DeadCode }
  | { stored: Stored }
  | { live: { userIds: string[]; tenantId: string | null } };

export interface Case {
  seq: number;
  mutator: string;
  routingKey: string;
  content: Buffer;
  properties: Options.Publish;
  outcome: Outcome;
}

type Kind = 'notification' | 'event';

interface Draft {
  /** Serialized with JSON.stringify, unless `raw` is given. */
  message?: unknown;
  raw?: string | Buffer;
  routingKey?: string;
  properties?: Options.Publish;
  /** `accepted`: stored (or pushed live) exactly as sent. */
  outcome: { dead: DeadCode } | 'accepted';
}

export interface Rng {
  next(): number;
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
}

/** mulberry32: a small seeded generator, so every run sends the same messages. */
export function seeded(seed: number): Rng {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)] };
}

/** Strings that would start new SSE fields if a frame carried them raw. */
export const FORGERIES = [
  '\nevent: notification\ndata: {"id":"1","userId":"v0","title":"forged"}\n\n',
  '\r\nevent: auth-expired\r\ndata: {}\r\n\r\n',
  'x\rid: 999999',
  '\n\nevent: live\ndata: {"type":"forged"}',
  'line\nbreak',
];
/** Control characters (\p{Cc}) that ids must not contain. */
const CONTROLS = ['\u0000', '\u0007', '\u001b[31m', '\u007f', '\u0085', '\t'];
/** Odd but valid text: titles, bodies and data may hold any of it. */
export const ODD_TEXT = [
  '🔔 emoji 👩‍👩‍👧‍👦 and a flag 🇫🇷',
  '\u202Edesrever\u202C right-to-left override',
  '\u200F\u200E\u061C bidi marks',
  'zero\u200Bwidth\u2060joiner\u200D',
  'combining e\u0301\u0301\u0301 t\u0337\u0334',
  '\u2028line and paragraph\u2029separators',
  '\uFEFFbyte order mark inside',
  'tab\tescape \u001b[31m bell \u0007 delete \u007f',
  'Ω≈ç√∫ 中文 العربية עברית',
  'noncharacters \uFFFE\uFFFF and \u{10FFFF}',
  ...FORGERIES,
];
/** Valid user ids that merely look like another user's: none of them may reach WATCHED. */
const LOOKALIKE_USERS = ['v0\u200F', '👤v0', 'v0 ', ' v0', 'V0', 'v0\u2028', '\u202Ev0'];
const LOOKALIKE_TENANTS = ['t\u200F', '🏢', ' ', 'v0'];

/** Values of the wrong type or out of bounds, per field; `events` marks fields live events have. */
const WRONG_VALUES: { path: string; events: boolean; values: unknown[] }[] = [
  { path: 'id', events: false, values: [123, true, [], {}, '', 'k'.repeat(201)] },
  { path: 'recipients', events: true, values: ['v0', 1, true, null] },
  {
    path: 'recipients.userIds',
    events: true,
    values: [
      'v0',
      1,
      {},
      [1],
      [null],
      ['v0', 'v0'],
      [''],
      ['u'.repeat(201)],
      Array.from({ length: 1001 }, (_, i) => `many-${i}`),
    ],
  },
  { path: 'recipients.topics', events: true, values: ['news', [1], ['bad topic'], ['a/b'], ['']] },
  { path: 'recipients.broadcast', events: true, values: ['true', 1, 0, []] },
  { path: 'type', events: true, values: [123, '', 'bad type', 'a/b', 't'.repeat(101), [], null] },
  {
    path: 'title',
    events: false,
    values: [123, true, [], {}, null, '', '   ', '\n\t', 'x'.repeat(501)],
  },
  { path: 'body', events: false, values: [123, true, [], {}, 'b'.repeat(10_001)] },
  { path: 'data', events: true, values: ['x', 1, true, []] },
  { path: 'priority', events: false, values: ['urgent', 1, true, 'NORMAL', ''] },
  { path: 'tenantId', events: true, values: [1, true, [], {}, 't'.repeat(201)] },
  {
    path: 'expiresAt',
    events: false,
    values: ['tomorrow', 123, '2030-13-45T00:00:00Z', '2030-02-30T00:00:00Z', true],
  },
  { path: 'deliverAt', events: false, values: ['soon', 1, {}, '2030-02-30T00:00:00Z'] },
];

/** A deep copy made in this realm (structuredClone's objects fail isDeepStrictEqual under Jest). */
function copyOf(message: object): Record<string, any> {
  return JSON.parse(JSON.stringify(message));
}

function withPath(message: object, path: string, value: unknown): Record<string, any> {
  const copy = copyOf(message);
  const keys = path.split('.');
  const last = keys.pop()!;
  let target = copy;
  for (const key of keys) target = target[key];
  target[last] = value;
  return copy;
}

function withoutPath(message: object, path: string): Record<string, any> {
  const copy = copyOf(message);
  delete copy[path];
  return copy;
}

export function deep(depth: number, open: string, leaf: string, close: string): string {
  return open.repeat(depth) + leaf + close.repeat(depth);
}

/** Inserts `insert` (text or bytes) inside the first string value of `field` in `json`. */
function insideField(json: string, field: string, insert: string | Buffer): Buffer {
  const at = json.indexOf(`"${field}":"`) + field.length + 4;
  return Buffer.concat([
    Buffer.from(json.slice(0, at)),
    Buffer.isBuffer(insert) ? insert : Buffer.from(insert),
    Buffer.from(json.slice(at)),
  ]);
}

interface Context {
  rng: Rng;
  seq: number;
  kind: Kind;
  maxBytes: number;
  message: Record<string, any>;
}

const invalid = { dead: 'invalid' } as const;

/** Each mutator turns a valid message into a bad (or odd but valid) one; weights per 100. */
const MUTATORS: { name: string; weight: number; make(context: Context): Draft }[] = [
  {
    name: 'invalid JSON',
    weight: 12,
    make: ({ rng, message }) => {
      const json = JSON.stringify(message);
      const raw = rng.pick([
        () => json.slice(0, rng.int(json.length)),
        () => `${json}}`,
        () => `${json.slice(0, -1)},}`,
        () => json.replace(/"/g, "'"),
        () => `{"title": NaN, "recipients": {"userIds": ["v0"]}}`,
        () => `{recipients: {userIds: ["v0"]}, title: "unquoted keys"}`,
        () => `${json} ${json}`,
        () => `// a comment\n${json}`,
        () => '',
        () => 'undefined',
      ])();
      return { raw, outcome: { dead: 'invalid-json' } };
    },
  },
  {
    name: 'not UTF-8',
    weight: 6,
    make: ({ rng, message }) => {
      const bytes = rng.pick([
        [0xff],
        [0xc0, 0xaf], // an overlong "/"
        [0xed, 0xa0, 0x80], // a surrogate, encoded
        [0xe2, 0x82], // cut short
        [0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
      ]);
      return {
        raw: insideField(JSON.stringify(message), 'type', Buffer.from(bytes)),
        outcome: { dead: 'invalid-json' },
      };
    },
  },
  {
    name: 'raw control character in a JSON string',
    weight: 5,
    make: ({ rng, message }) => ({
      raw: insideField(JSON.stringify(message), 'type', rng.pick(['\u0000', '\n', '\r', '\t'])),
      outcome: { dead: 'invalid-json' },
    }),
  },
  {
    name: 'not an object',
    weight: 5,
    make: ({ rng, message }) => ({
      raw: rng.pick([
        '[]',
        `[${JSON.stringify(message)}]`,
        '"text"',
        '42',
        'null',
        'true',
        '1e400',
      ]),
      outcome: invalid,
    }),
  },
  {
    name: 'wrong type or out of bounds',
    weight: 20,
    make: ({ rng, kind, message }) => {
      const field = rng.pick(WRONG_VALUES.filter((each) => kind === 'notification' || each.events));
      return { message: withPath(message, field.path, rng.pick(field.values)), outcome: invalid };
    },
  },
  {
    name: 'missing recipients',
    weight: 8,
    make: ({ rng, message }) => {
      const recipients = rng.pick([
        undefined,
        {},
        { userIds: [] },
        { topics: [] },
        { broadcast: false },
        { userIds: null },
        { topics: null, broadcast: null },
      ]);
      return {
        message:
          recipients === undefined
            ? withoutPath(message, 'recipients')
            : withPath(message, 'recipients', recipients),
        outcome: invalid,
      };
    },
  },
  {
    name: 'recipients as an array',
    weight: 1,
    make: ({ rng, message }) => ({
      message: withPath(message, 'recipients', rng.pick([[], [{ userIds: [WATCHED] }]])),
      outcome: invalid,
    }),
  },
  {
    name: 'unknown field',
    weight: 5,
    make: ({ rng, message }) => {
      const extra = rng.pick([
        ['userId', 'v0'],
        ['Title', 'x'],
        ['recipients.groups', ['admins']],
        ['pattern', 'notification.x'],
        ['headers', { 'x-herald-error': 'none' }],
      ] as const);
      return { message: withPath(message, extra[0], extra[1]), outcome: invalid };
    },
  },
  {
    name: 'too large',
    weight: 0.4,
    make: ({ rng, maxBytes, message }) => {
      const padded = withPath(message, 'data', { pad: '' });
      const room = maxBytes - JSON.stringify(padded).length;
      padded.data.pad = 'p'.repeat(room + 1 + rng.int(5000));
      return { message: padded, outcome: { dead: 'too-large' } };
    },
  },
  {
    name: 'deeply nested JSON',
    weight: 0.4,
    make: ({ rng, message }) => {
      const json = JSON.stringify(message);
      const depth = 10_000;
      const raw = rng.pick([
        () => deep(depth, '[', '', ']'),
        () => deep(depth, '{"a":', '1', '}'),
        () => json.replace('"type":', `"extra":${deep(depth, '{"a":', '1', '}')},"type":`),
        () =>
          json.replace('"recipients":{', `"recipients":{"topics":${deep(depth, '[', '', ']')},`),
      ])();
      return { raw, outcome: invalid };
    },
  },
  {
    name: 'CR, LF or control character in an id, type, user id or tenant',
    weight: 8,
    make: ({ rng, kind, message }) => {
      const bad = rng.pick([...FORGERIES, ...CONTROLS.map((c) => `a${c}b`)]);
      const path = rng.pick(
        kind === 'notification'
          ? ['id', 'type', 'recipients.userIds', 'tenantId', 'recipients.topics']
          : ['type', 'recipients.userIds', 'tenantId', 'recipients.topics'],
      );
      const value = path.startsWith('recipients') ? [bad] : bad;
      return { message: withPath(message, path, value), outcome: invalid };
    },
  },
  {
    name: 'CR or LF in the message_id',
    weight: 2,
    make: ({ rng, kind, message }) => ({
      message: kind === 'notification' ? withoutPath(message, 'id') : message,
      properties: { messageId: rng.pick(FORGERIES) },
      // A live event has no id: the message_id is not read.
      outcome: kind === 'notification' ? invalid : 'accepted',
    }),
  },
  {
    name: 'CR or LF in the routing key',
    weight: 3,
    make: ({ rng, kind, message }) => ({
      message: withoutPath(message, 'type'),
      routingKey: `${kind}.${rng.pick(FORGERIES)}`,
      outcome: invalid,
    }),
  },
  {
    name: 'not JSON content type',
    weight: 4,
    make: ({ rng, message }) => ({
      message,
      properties: {
        contentType: rng.pick([
          'text/plain',
          'application/xml',
          'application/octet-stream',
          'text/html; charset=utf-8',
          'multipart/form-data',
        ]),
      },
      outcome: { dead: 'unsupported-content-type' },
    }),
  },
  {
    name: 'NestJS envelope',
    weight: 3,
    make: ({ rng, message }) =>
      rng.pick<() => Draft>([
        () => ({
          message: { pattern: 'orders.created', data: message },
          outcome: { dead: 'no-handler' },
        }),
        () => ({ message: { pattern: '', data: message }, outcome: { dead: 'no-handler' } }),
        () => ({ message: { pattern: 'notification.x', data: 'text' }, outcome: invalid }),
        () => ({ message: { pattern: 'event.x', data: null }, outcome: invalid }),
      ])(),
  },
  {
    // JSON.parse keeps an own "__proto__" or "constructor" key; class-transformer skips both
    // (against prototype pollution) before validation sees them: ignored, the message accepted.
    name: 'prototype keys',
    weight: 1,
    make: ({ rng, message }) => {
      const key = rng.pick(['__proto__', 'constructor']);
      const json = JSON.stringify(message);
      const extra = key === '__proto__' ? '{"polluted":"yes"}' : '{"prototype":{"polluted":"yes"}}';
      return { raw: `{"${key}":${extra},${json.slice(1)}`, outcome: 'accepted' };
    },
  },
  {
    // What Herald cannot store as sent must be refused: UTF-8 cannot carry a lone surrogate, so
    // PostgreSQL would get U+FFFD (another id, another text). One rule for every message, live
    // events too (src/common/well-formed.ts).
    name: 'lone surrogate in an id, user id or tenant',
    weight: 1,
    make: ({ rng, kind, message }) => {
      const path = rng.pick(
        kind === 'notification'
          ? ['id', 'recipients.userIds', 'tenantId']
          : ['recipients.userIds', 'tenantId'],
      );
      const bad = rng.pick(['\ud800', 'v0\udfff', '\udc00v0']);
      return {
        message: withPath(message, path, path.startsWith('recipients') ? [bad] : bad),
        outcome: invalid,
      };
    },
  },
  {
    name: 'lone surrogate in text',
    weight: 0.5,
    make: ({ rng, kind, seq, message }) => {
      const text = `half an emoji ${rng.pick(['\ud83d', '\udd14', '\udd14\ud83d'])} #${seq}`;
      const path = kind === 'event' ? 'data' : rng.pick(['title', 'body', 'data']);
      return {
        message: withPath(message, path, path === 'data' ? { text, seq } : text),
        outcome: invalid,
      };
    },
  },
  {
    // PostgreSQL text and jsonb cannot hold U+0000: such a notification can never be stored (and
    // a live event is held to the same rule).
    name: 'NUL in a title, body or data',
    weight: 1,
    make: ({ rng, kind, message }) => {
      if (kind === 'event')
        return { message: withPath(message, 'data', { text: 'a\u0000b' }), outcome: invalid };
      const path = rng.pick(['title', 'body', 'data']);
      const value = path === 'data' ? { text: 'a\u0000b' } : `Case\u0000${path}`;
      return { message: withPath(message, path, value), outcome: invalid };
    },
  },
];

/** Odd but valid: each must be stored (or pushed) intact, never dead-lettered. */
const ODD_MUTATORS: { name: string; weight: number; make(context: Context): Draft }[] = [
  {
    name: 'odd Unicode and SSE forgeries in text',
    weight: 6,
    make: ({ rng, kind, seq, message }) => {
      const text = `${rng.pick(ODD_TEXT)} #${seq}`;
      if (kind === 'event')
        return { message: withPath(message, 'data', { text, seq }), outcome: 'accepted' };
      const path = rng.pick(['title', 'body', 'data']);
      const value = path === 'data' ? { [rng.pick(ODD_TEXT)]: text, seq } : text;
      return { message: withPath(message, path, value), outcome: 'accepted' };
    },
  },
  {
    name: 'look-alike user or tenant',
    weight: 2,
    make: ({ rng, message }) =>
      rng.next() < 0.6
        ? {
            message: withPath(message, 'recipients.userIds', [rng.pick(LOOKALIKE_USERS)]),
            outcome: 'accepted',
          }
        : {
            message: withPath(message, 'tenantId', rng.pick(LOOKALIKE_TENANTS)),
            outcome: 'accepted',
          },
  },
  {
    name: 'nulls and empties where optional',
    weight: 1,
    make: ({ rng, kind, message }) => {
      const path = rng.pick(
        kind === 'notification'
          ? ['body', 'data', 'priority', 'tenantId', 'id', 'expiresAt']
          : ['data', 'tenantId'],
      );
      return {
        message: withPath(message, path, rng.pick([null, ...(path === 'tenantId' ? [''] : [])])),
        outcome: 'accepted',
      };
    },
  },
  {
    name: 'at the limits',
    weight: 1,
    make: ({ rng, kind, maxBytes, message }) => {
      if (kind === 'event' || rng.next() < 0.2) {
        const padded = withPath(message, 'data', { pad: '' });
        padded.data.pad = 'p'.repeat(maxBytes - JSON.stringify(padded).length);
        return { message: padded, outcome: 'accepted' };
      }
      return rng.pick<() => Draft>([
        () => ({ message: withPath(message, 'title', '🔔'.repeat(500)), outcome: 'accepted' }),
        () => ({ message: withPath(message, 'body', 'b'.repeat(10_000)), outcome: 'accepted' }),
        () => ({ message: withPath(message, 'type', `t.${'y'.repeat(98)}`), outcome: 'accepted' }),
        () => ({ message: withPath(message, 'id', 'k'.repeat(200)), outcome: 'accepted' }),
      ])();
    },
  },
  {
    name: 'other accepted forms',
    weight: 1,
    make: ({ rng, kind, seq, message }) =>
      rng.pick<() => Draft>([
        () => ({ raw: `\uFEFF${JSON.stringify(message)}`, outcome: 'accepted' }),
        () => ({ message, properties: { contentType: undefined }, outcome: 'accepted' }),
        () => ({
          message,
          properties: { contentType: 'text/json; charset=utf-8' },
          outcome: 'accepted',
        }),
        () => ({
          message: { pattern: `${kind}.fuzz.envelope`, data: message },
          outcome: 'accepted',
        }),
        () => ({
          message: withoutPath(message, 'id'),
          properties: { messageId: `mid-${seq}` },
          outcome: 'accepted',
        }),
      ])(),
  },
];

function baseMessage(kind: Kind, seq: number, userId: string): Record<string, any> {
  if (kind === 'event')
    return { recipients: { userIds: [userId] }, type: 'fuzz.tick', data: { seq } };
  return {
    id: `case-${seq}`,
    recipients: { userIds: [userId] },
    type: 'fuzz.case',
    title: `Case ${seq}`,
    body: `Body of case ${seq}`,
    data: { seq },
    priority: 'normal',
  };
}

/** What Herald must store for an accepted message, as IngestController reads it. */
function storedOf(body: Record<string, any>, routingKey: string, messageId?: string): Stored {
  const message = 'pattern' in body && 'data' in body ? body.data : body;
  const key = 'pattern' in body ? body.pattern : routingKey;
  return {
    userIds: message.recipients.userIds,
    tenantId: message.tenantId || null,
    key: message.id ?? messageId,
    type: message.type ?? key.replace(/^notification\./, ''),
    title: message.title,
    body: message.body ?? null,
    data: message.data ?? {},
    priority: message.priority ?? 'normal',
  };
}

function toCase(seq: number, mutator: string, kind: Kind, draft: Draft): Case {
  const routingKey =
    draft.routingKey ?? (kind === 'event' ? 'event.fuzz.tick' : 'notification.fuzz.case');
  const content = Buffer.isBuffer(draft.raw)
    ? draft.raw
    : Buffer.from(draft.raw ?? JSON.stringify(draft.message));
  const properties: Options.Publish = {
    contentType: 'application/json',
    ...draft.properties,
    headers: { 'x-fuzz': seq },
    replyTo: undefined,
    correlationId: String(seq),
  };
  let outcome: Outcome;
  if (draft.outcome !== 'accepted') outcome = draft.outcome;
  else {
    const body = (draft.message ??
      JSON.parse(content.toString('utf8').replace(/^\uFEFF/, ''))) as Record<string, any>;
    const message = 'pattern' in body ? body.data : body;
    outcome =
      kind === 'event'
        ? { live: { userIds: message.recipients.userIds, tenantId: message.tenantId || null } }
        : { stored: storedOf(body, routingKey, draft.properties?.messageId) };
  }
  return { seq, mutator, routingKey, content, properties, outcome };
}

/**
 * The run's messages, in publishing order: bad ones until BAD_MESSAGES of them, odd-but-valid ones
 * among them, and VALID_MESSAGES plain valid ones (some published twice) interleaved.
 */
export function generate(maxBytes: number): Case[] {
  const rng = seeded(SEED);
  const cases: Case[] = [];
  const pickMutator = (list: typeof MUTATORS) => {
    const total = list.reduce((sum, each) => sum + each.weight, 0);
    let roll = rng.next() * total;
    for (const each of list) if ((roll -= each.weight) < 0) return each;
    return list[list.length - 1];
  };
  let bad = 0;
  let valid = 0;
  const repeats: Case[] = [];
  while (bad < BAD_MESSAGES) {
    const seq = cases.length;
    if (rng.next() < VALID_MESSAGES / BAD_MESSAGES && valid < VALID_MESSAGES) {
      const userId = rng.pick(USERS);
      const message = {
        ...baseMessage('notification', seq, userId),
        id: `valid-${valid}`,
        title: `Valid ${valid}`,
        type: 'fuzz.valid',
      };
      const each = toCase(seq, 'valid', 'notification', { message, outcome: 'accepted' });
      cases.push(each);
      if (valid < REPEATED_MESSAGES) repeats.push(each);
      valid += 1;
      continue;
    }
    if (repeats.length > 0 && rng.next() < 0.01) {
      const first = repeats.shift()!;
      cases.push({
        ...first,
        seq,
        mutator: 'valid, repeated',
        properties: { ...first.properties, headers: { 'x-fuzz': seq }, correlationId: String(seq) },
      });
      continue;
    }
    const kind: Kind = rng.next() < 0.8 ? 'notification' : 'event';
    const odd = rng.next() < 0.03;
    const mutator = pickMutator(odd ? ODD_MUTATORS : MUTATORS);
    const message = baseMessage(kind, seq, rng.pick(USERS));
    const draft = mutator.make({ rng, seq, kind, maxBytes, message });
    const each = toCase(seq, mutator.name, kind, draft);
    cases.push(each);
    if ('dead' in each.outcome) bad += 1;
  }
  while (valid < VALID_MESSAGES) {
    const seq = cases.length;
    const message = {
      ...baseMessage('notification', seq, rng.pick(USERS)),
      id: `valid-${valid}`,
      title: `Valid ${valid}`,
      type: 'fuzz.valid',
    };
    cases.push(toCase(seq, 'valid', 'notification', { message, outcome: 'accepted' }));
    valid += 1;
  }
  return cases;
}
