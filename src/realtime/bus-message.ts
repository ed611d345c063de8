import { z } from 'zod';
import { MAX_JSON_DEPTH, malformedJson } from '../common/well-formed';
import { LINK } from '../notifications/addressed-message';
import { INBOX_STATUSES, PRIORITIES } from '../notifications/notification';
import type { BusMessage } from './realtime-bus';

/**
 * What another instance may send on the realtime exchange, checked before anything routes it:
 * anyone who can publish there (a stray script, a misconfigured producer) could otherwise crash
 * every instance or forge stream lines. Ids end up in SSE `id:` lines, so they are digits only;
 * names are bounded and free of control characters, as at ingest. Fields this version does not
 * know are dropped, not refused: an instance of a newer version may be running beside it.
 */
const id = z.string().regex(/^[1-9]\d{0,18}$/);
const name = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]+$/u);
const tenant = z
  .string()
  .max(200)
  .regex(/^[^\p{Cc}]*$/u)
  .nullable();
const link = z.string().max(2048).regex(LINK);
/** A date after JSON. */
const time = z.iso.datetime({ offset: true }).nullable();
const recipient = z.object({ userId: name, tenantId: tenant });
const record = z.record(z.string(), z.unknown());

const notification = z.object({
  id,
  userId: name,
  tenantId: tenant,
  type: name,
  title: z.string().max(10_000),
  body: z.string().max(100_000).nullable(),
  data: record,
  priority: z.enum(PRIORITIES),
  topic: name.nullable(),
  createdAt: time.unwrap(),
  readAt: time,
  archivedAt: time,
  expiresAt: time,
  // v1.1: absent from an older instance's, which cannot have stored them.
  // Links end up in pages' hrefs: the rule of ingest, so none is `javascript:` or another site's.
  url: link.nullable().default(null),
  actions: z
    .array(z.object({ id: name, label: z.string().max(1000), url: link.optional() }))
    .max(10)
    .default([]),
  category: name.nullable().default(null),
  seenAt: time.default(null),
  interactedAt: time.default(null),
  interaction: name.nullable().default(null),
  snoozedUntil: time.default(null),
  collapseKey: name.nullable().default(null),
  groupKey: name.nullable().default(null),
  groupCount: z.number().int().min(1).default(1),
  actors: z.array(name).max(100).default([]),
  locale: name.nullable().default(null),
});

const bulkChange = z.object({
  recipient,
  upTo: id,
  filter: z.object({
    status: z.enum(INBOX_STATUSES).optional(),
    type: name.optional(),
    category: name.optional(),
    before: time.unwrap().optional(),
    ids: z.array(id).max(1000).optional(),
  }),
  set: z.object({
    read: z.boolean().optional(),
    seen: z.boolean().optional(),
    archived: z.boolean().optional(),
  }),
  at: time.unwrap(),
});

const inboxEvent = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('created'),
    notification,
    sentAt: z.number().optional(),
    previousId: id.nullable().optional(),
  }),
  z.object({
    kind: z.literal('updated'),
    recipient,
    id,
    readAt: time,
    archivedAt: time,
    seenAt: time.optional(),
    interactedAt: time.optional(),
    interaction: name.nullable().optional(),
    snoozedUntil: time.optional(),
    deleted: z.literal(true).optional(),
    replacedBy: id.optional(),
  }),
  bulkChange.extend({ kind: z.literal('bulk-updated') }),
  // A bulk change v1 instances would read too broadly (realtime-bus.ts, WideBulkChange).
  bulkChange.extend({ kind: z.literal('bulk-filtered') }),
  z.object({
    kind: z.literal('subscription'),
    recipient,
    topic: name,
    subscribed: z.boolean(),
  }),
]);

const liveEvent = z.object({
  kind: z.literal('live'),
  tenantId: tenant,
  userIds: z.array(name).max(1000),
  topics: z.array(name).max(100),
  broadcast: z.boolean(),
  type: name,
  data: record,
});

const busMessage = z.discriminatedUnion('kind', [
  ...inboxEvent.options,
  liveEvent,
  z.object({
    kind: z.literal('batch'),
    events: z.array(z.discriminatedUnion('kind', [...inboxEvent.options, liveEvent])).max(100_000),
  }),
]);

/**
 * Largest message taken: a burst of changes travels as one message (a transaction's worth), and a
 * larger one would stall every stream while it is parsed.
 */
export const MAX_BUS_MESSAGE_BYTES = 16 * 1024 * 1024;
/** A batch holds events, an event a notification, a notification its data (≤ MAX_JSON_DEPTH). */
const MAX_BUS_DEPTH = MAX_JSON_DEPTH + 4;

/** Why a message from the bus was dropped. */
export class UnreadableBusMessage extends Error {}

/** Parses and checks a message from the realtime exchange; throws UnreadableBusMessage. */
export function parseBusMessage(content: Buffer): BusMessage {
  if (content.length > MAX_BUS_MESSAGE_BYTES) {
    throw new UnreadableBusMessage(`larger than ${MAX_BUS_MESSAGE_BYTES} bytes`);
  }
  let json: unknown;
  try {
    json = JSON.parse(content.toString('utf8'));
  } catch {
    throw new UnreadableBusMessage('not JSON');
  }
  // Before the schema: routing serializes data again, recursively.
  const malformed = malformedJson(json, MAX_BUS_DEPTH);
  if (malformed) throw new UnreadableBusMessage(malformed);
  const result = busMessage.safeParse(json);
  if (!result.success) {
    const [issue] = result.error.issues;
    const where = issue.path.join('.') || 'message';
    throw new UnreadableBusMessage(`${where}: ${issue.message}`.slice(0, 200));
  }
  // The schema is BusMessage after JSON: its dates are ISO strings, which go out as they are.
  return result.data as unknown as BusMessage;
}
