import fc from 'fast-check';
import {
  bodyOf,
  compareIds,
  Message,
  Model,
  MUTE_PATTERNS,
  POOL,
  Priority,
  Row,
  TENANTS,
  TOPICS,
  TYPES,
  usersOf,
} from './model';

/** A message as generated: indexes into the model's pools, resolved when it runs. */
export interface MessageSpec {
  tenant: number;
  users: number[];
  key: 'new' | 'none' | 'repeat' | 'message-id';
  repeat: number;
  type: number;
  typeInBody: boolean;
  priority?: Priority;
  expiry: 'none' | 'soon' | 'past';
  soonMs: number;
}

export type Operation =
  /** A few messages, one burst on one channel. */
  | { kind: 'publish'; messages: MessageSpec[] }
  /** Many messages to a few users, round robin, every `repeatEvery`-th one a repeat. */
  | { kind: 'burst'; size: number; tenant: number; users: number[]; repeatEvery: number }
  | { kind: 'fan-out'; message: MessageSpec; topics: number[]; broadcast: boolean }
  /** Thousands of generated users (beyond the pool), ≤ 1,000 per message, one burst. */
  | { kind: 'wide'; extra: number; message: MessageSpec }
  | {
      kind: 'scheduled';
      message: MessageSpec;
      topics: number[];
      broadcast: boolean;
      delayMs: number;
    }
  /** A live event (`event.<name>`): pushed to the recipients' open streams, never stored. */
  | {
      kind: 'live';
      tenant: number;
      users: number[];
      topics: number[];
      broadcast: boolean;
      typeInBody: boolean;
    }
  | { kind: 'subscribe'; user: number; topic: number; subscribe: boolean }
  | { kind: 'mute'; user: number; patterns: number[] }
  | {
      kind: 'patch';
      user: number;
      target: number;
      foreign: boolean;
      read?: boolean;
      archived?: boolean;
    }
  | { kind: 'delete'; user: number; target: number; foreign: boolean }
  | { kind: 'read-all'; user: number }
  | { kind: 'touch'; user: number }
  | {
      kind: 'open';
      user: number;
      instance: number;
      from: 'none' | 'zero' | 'behind' | 'current' | 'ahead' | 'foreign';
      pick: number;
    }
  | { kind: 'close'; tab: number }
  /** kill -9 of an instance after `after` replies of a burst, then a restart on the same storage. */
  | { kind: 'kill'; instance: number; messages: MessageSpec[]; after: number }
  /** The instance's RabbitMQ connection cut (TCP proxy) after `after` replies, messages meanwhile. */
  | { kind: 'broker-drop'; before: MessageSpec[]; during: MessageSpec[]; after: number };

export type Mode = 'single' | 'pair';

const priority = fc.constantFrom<Priority | undefined>(
  undefined,
  undefined,
  'low',
  'normal',
  'high',
  'critical',
);

/** `fault`: for bursts cut by a fault — keyed (redelivery must be absorbed), no early expiry. */
function messageSpec(fault = false, maxUsers = 3): fc.Arbitrary<MessageSpec> {
  return fc.record({
    tenant: fc.constantFrom(0, 0, 1),
    users: fc.uniqueArray(fc.nat(3), { minLength: 1, maxLength: maxUsers }),
    key: fault
      ? fc.constantFrom<MessageSpec['key']>('new', 'new', 'repeat', 'message-id')
      : fc.constantFrom<MessageSpec['key']>('new', 'new', 'repeat', 'none', 'message-id'),
    repeat: fc.nat(),
    type: fc.nat(TYPES.length - 1),
    typeInBody: fc.boolean(),
    priority,
    expiry: fault
      ? fc.constant<MessageSpec['expiry']>('none')
      : fc.constantFrom<MessageSpec['expiry']>('none', 'none', 'none', 'soon', 'past'),
    soonMs: fc.integer({ min: 2500, max: 5000 }),
  });
}

const user = fc.nat(POOL.length - 1);
const topicIndexes = fc.uniqueArray(fc.nat(TOPICS.length - 1), { minLength: 1, maxLength: 2 });

export function operation(mode: Mode): fc.Arbitrary<Operation> {
  const weighted: fc.WeightedArbitrary<Operation>[] = [
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('publish' as const),
        messages: fc.array(messageSpec(), { minLength: 1, maxLength: 8 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('burst' as const),
        size: fc.integer({ min: 20, max: 250 }),
        tenant: fc.constantFrom(0, 0, 1),
        users: fc.uniqueArray(fc.nat(3), { minLength: 1, maxLength: 4 }),
        repeatEvery: fc.integer({ min: 0, max: 7 }),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('fan-out' as const),
        message: messageSpec(false, 2),
        topics: topicIndexes,
        broadcast: fc.boolean(),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('wide' as const),
        extra: fc.integer({ min: 2000, max: 5000 }),
        message: messageSpec(true, 2),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('scheduled' as const),
        message: messageSpec(false, 2),
        topics: fc.uniqueArray(fc.nat(TOPICS.length - 1), { maxLength: 2 }),
        broadcast: fc.boolean(),
        delayMs: fc.integer({ min: 1000, max: 2500 }),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('live' as const),
        tenant: fc.constantFrom(0, 0, 1),
        users: fc.uniqueArray(fc.nat(3), { maxLength: 2 }),
        topics: fc.uniqueArray(fc.nat(TOPICS.length - 1), { maxLength: 2 }),
        broadcast: fc.boolean(),
        typeInBody: fc.boolean(),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('subscribe' as const),
        user,
        topic: fc.nat(TOPICS.length - 1),
        subscribe: fc.constantFrom(true, true, false),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('mute' as const),
        user,
        patterns: fc.uniqueArray(fc.nat(MUTE_PATTERNS.length - 1), { maxLength: 2 }),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record(
        {
          kind: fc.constant('patch' as const),
          user,
          target: fc.nat(),
          foreign: fc.boolean(),
          read: fc.boolean(),
          archived: fc.boolean(),
        },
        { requiredKeys: ['kind', 'user', 'target', 'foreign'] },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('delete' as const),
        user,
        target: fc.nat(),
        foreign: fc.boolean(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('read-all' as const), user }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('touch' as const), user }) },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant('open' as const),
        user,
        instance: fc.nat(1),
        from: fc.constantFrom<Extract<Operation, { kind: 'open' }>['from']>(
          'none',
          'none',
          'zero',
          'behind',
          'current',
          'ahead',
          'foreign',
        ),
        pick: fc.nat(),
      }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), tab: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('kill' as const),
        instance: fc.nat(1),
        messages: fc.array(messageSpec(true), { minLength: 20, maxLength: 120 }),
        after: fc.nat(60),
      }),
    },
  ];
  if (mode === 'single') {
    weighted.push({
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('broker-drop' as const),
        before: fc.array(messageSpec(true), { maxLength: 60 }),
        during: fc.array(messageSpec(true), { maxLength: 20 }),
        after: fc.nat(30),
      }),
    });
  }
  return fc.oneof(...weighted);
}

/** A run: one or two instances, then the operations. */
export interface Scenario {
  mode: Mode;
  operations: Operation[];
}

/** Two instances only on PostgreSQL: PGlite is embedded, one process holds its files. */
export function scenario(maxOperations: number, pair: boolean): fc.Arbitrary<Scenario> {
  return (
    pair ? fc.constantFrom<Mode>('single', 'single', 'pair') : fc.constant<Mode>('single')
  ).chain((mode) =>
    fc.record({
      mode: fc.constant(mode),
      operations: fc.array(operation(mode), {
        minLength: 3,
        maxLength: maxOperations,
        // Any length up to the most, not mostly short ones.
        size: 'max',
      }),
    }),
  );
}

/** The concrete message of a spec, with a fresh mark and publish position. */
export function messageOf(
  model: Model,
  spec: MessageSpec,
  extra: Partial<Message> = {},
  at = Date.now(),
): Message {
  const tenant = TENANTS[spec.tenant % TENANTS.length];
  const pool = usersOf(tenant);
  const userIds = [...new Set(spec.users.map((index) => pool[index % pool.length].id))];
  let key: string | undefined;
  if (spec.key === 'repeat' && model.usedKeys.length > 0) {
    key = model.usedKeys[spec.repeat % model.usedKeys.length];
  } else if (spec.key !== 'none') {
    key = model.newKey(spec.expiry === 'none');
  }
  const base = extra.deliverAt ?? at;
  return {
    ...model.nextMark(),
    tenant,
    userIds,
    topics: [],
    broadcast: false,
    key,
    keyVia: spec.key === 'message-id' ? 'message-id' : 'body',
    type: TYPES[spec.type % TYPES.length],
    typeInBody: spec.typeInBody,
    priority: spec.priority,
    ...(spec.expiry === 'soon' && { expiresAt: base + spec.soonMs }),
    ...(spec.expiry === 'past' && { expiresAt: at - 60_000 }),
    ...extra,
  };
}

export function outgoing(message: Message) {
  return {
    routingKey: `notification.${message.type}`,
    body: bodyOf(message),
    ...(message.key !== undefined && message.keyVia === 'message-id' && { messageId: message.key }),
  };
}

/** Picks one of `rows` by a generated index (stable under shrinking: modulo). */
export function pick<T>(items: T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}

export function byId(a: Row, b: Row): number {
  return compareIds(a.id!, b.id!);
}
