import { getMetadataStorage } from 'class-validator';
import { InvalidInputError } from '../common/domain-error';
import { validateInput } from '../common/validation';
import { RecipientsSpec } from '../notifications/addressed-message';
import { CreateNotificationCommand } from '../notifications/intake/create-notification.command';
import { fastCommand } from './command-fast-path';

/** validateInput's answer: the instance, or the InvalidInputError (anything else is thrown). */
function slow(input: Record<string, unknown>): CreateNotificationCommand | InvalidInputError {
  try {
    return validateInput(CreateNotificationCommand, input);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
}

/** A small deterministic generator (mulberry32), so a failure is replayable from its seed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const TEXTS = [
  '',
  ' ',
  'a',
  'order-123',
  'héllo 😀',
  'tab\there',
  'line\nbreak',
  '\u0085next line',
  '\u007f',
  'a'.repeat(200),
  'a'.repeat(201),
  '😀'.repeat(100),
  '😀'.repeat(101),
  '😀'.repeat(150),
  'a'.repeat(500),
  'a'.repeat(501),
  'a'.repeat(10_000),
  'a'.repeat(10_001),
  'x.y:z_w-1',
  'bad type',
  '\ufe0f'.repeat(201),
];
const LINKS = [
  'https://example.com/a?b=c',
  'http://x',
  '/orders/1',
  '/',
  '//evil.example.com',
  'javascript:alert(1)',
  'https://a b',
  `/${'a'.repeat(2047)}`,
  `/${'a'.repeat(2048)}`,
  `/${'😀'.repeat(1024)}`,
  'https://é.example/😀',
  '/tab\there',
];
const CATEGORIES = ['orders', 'social.comments', 'a-b_c', 'Orders', 'a'.repeat(64), 'a'.repeat(65)];
const LOCALES = ['en', 'pt-br', 'de-AT', 'zh-Hant-TW', 'en_US', 'x', '123', 'a'.repeat(36)];
const DATES = ['2030-01-01T00:00:00Z', '2030-02-30T00:00:00Z', '2030-01-01', 'tomorrow', ''];
const OTHERS: unknown[] = [null, undefined, 0, 1, true, false, [], ['a'], {}, { a: 1 }];

describe('fastCommand', () => {
  it('knows every validated property of CreateNotificationCommand and RecipientsSpec', () => {
    // A new field or decorator must be taught to fastCommand (or make it fall back) first.
    const properties = (target: object) =>
      [
        ...new Set(
          getMetadataStorage()
            .getTargetValidationMetadatas(target as new () => object, '', true, false)
            .map((metadata) => metadata.propertyName),
        ),
      ].sort();
    expect(properties(CreateNotificationCommand)).toEqual(
      [
        'actions',
        'body',
        'category',
        'collapseKey',
        'data',
        'deliverAt',
        'expiresAt',
        'group',
        'id',
        'priority',
        'recipients',
        'locale',
        'sentAt',
        'template',
        'tenantId',
        'title',
        'type',
        'url',
      ].sort(),
    );
    expect(properties(RecipientsSpec)).toEqual(['broadcast', 'topics', 'userIds']);
  });

  it('builds what validateInput builds for a typical message', () => {
    const input = {
      id: 'bench-1',
      type: 'bench.ingest',
      recipients: { userIds: ['user-1'] },
      title: 'Benchmark notification 1',
      body: 'A body',
      data: { sequence: 1, nested: { list: [1, 'two', null, { three: 3 }] } },
    };
    const fast = fastCommand(input);
    expect(fast).toBeInstanceOf(CreateNotificationCommand);
    expect(fast?.recipients).toBeInstanceOf(RecipientsSpec);
    expect(fast).toStrictEqual(slow(input));
    expect(fast?.data).not.toBe(input.data); // a copy, as class-transformer makes
  });

  it('leaves every other shape to validateInput', () => {
    const base = { type: 't', title: 'x', recipients: { userIds: ['u'] } };
    for (const input of [
      { ...base, sentAt: 5 },
      { ...base, extra: 1 },
      { ...base, recipients: { topics: ['a'] } },
      { ...base, recipients: { userIds: ['u'], broadcast: false } },
      { ...base, recipients: { userIds: ['u', 'u'] } },
      { ...base, data: { constructor: 1 } },
      { ...base, data: { toString: 'x' } },
      { ...base, data: JSON.parse('{"a": {"__proto__": 1}}') as object },
      { ...base, id: null },
      { ...base, actions: [{ id: 'a', label: 'A' }] },
      { type: 't', title: 'x' },
    ]) {
      expect(fastCommand(input)).toBeUndefined();
    }
  });

  it('never takes what validateInput refuses, and builds the same command (generated inputs)', () => {
    const next = random(20261201);
    const pick = <T>(values: readonly T[]): T => values[Math.floor(next() * values.length)];
    const anything = (): unknown =>
      next() < 0.6 ? pick(TEXTS) : next() < 0.5 ? pick(DATES) : pick(OTHERS);
    const userIds = (): unknown => {
      const roll = next();
      if (roll < 0.1) return pick(OTHERS);
      const count = roll < 0.95 ? 1 + Math.floor(next() * 4) : pick([0, 1000, 1001]);
      return Array.from({ length: count }, (_, index) =>
        count > 10 || next() < 0.9 ? `user-${index}` : anything(),
      );
    };
    const data = (depth: number): unknown => {
      if (depth > 2 || next() < 0.3) return anything();
      if (next() < 0.3) return [data(depth + 1), data(depth + 1)];
      const key = pick(['a', 'b', 'sequence', 'toString', 'constructor', 'valueOf', '']);
      return { [key]: data(depth + 1), z: data(depth + 1) };
    };
    let taken = 0;
    for (let run = 0; run < 25_000; run += 1) {
      const input: Record<string, unknown> = {};
      const maybe = (key: string, value: () => unknown, probability = 0.5) => {
        if (next() < probability) input[key] = value();
      };
      maybe('id', () => (next() < 0.7 ? `key-${run}` : anything()));
      maybe('type', () => (next() < 0.8 ? 'order.shipped' : anything()), 0.95);
      maybe('title', () => (next() < 0.8 ? 'Shipped' : anything()), 0.95);
      maybe('body', anything);
      maybe('priority', () => pick(['low', 'normal', 'high', 'critical', 'urgent', null]), 0.3);
      maybe('expiresAt', () => pick(DATES), 0.1);
      maybe('deliverAt', () => pick(DATES), 0.1);
      maybe('tenantId', anything, 0.3);
      maybe('url', () => (next() < 0.8 ? pick(LINKS) : anything()), 0.2);
      maybe('category', () => (next() < 0.8 ? pick(CATEGORIES) : anything()), 0.2);
      maybe('template', () => (next() < 0.8 ? 'comment.created' : anything()), 0.1);
      maybe('locale', () => (next() < 0.8 ? pick(LOCALES) : anything()), 0.1);
      maybe('data', () => data(0), 0.5);
      maybe(
        'recipients',
        () => (next() < 0.9 ? { userIds: userIds() } : { userIds: userIds(), topics: ['t'] }),
        0.97,
      );
      maybe('unknown', anything, 0.02);
      const fast = fastCommand(input);
      if (fast === undefined) continue;
      taken += 1;
      expect([input, slow(input)]).toStrictEqual([input, fast]);
    }
    expect(taken).toBeGreaterThan(2000); // the generator reaches the fast path often enough
  });
});
