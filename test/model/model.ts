/**
 * The reference model of the model-based test (issue 16): what CONTRACT.md says Herald holds for
 * each user after a sequence of operations. Pure bookkeeping, no I/O: the operations
 * (operations.ts) ask it what to expect, run the real thing, and tell it what happened. Herald
 * chooses the ids; the model learns them (admin search, replies, stream events) and checks
 * everything else against them.
 */

export type Priority = 'low' | 'normal' | 'high' | 'critical';

export interface User {
  tenant: string | null;
  id: string;
}

/** The users operations pick from: few, so that they collide; `ann` exists in two tenants. */
export const POOL: User[] = [
  { tenant: null, id: 'ann' },
  { tenant: null, id: 'bob' },
  { tenant: null, id: 'cat' },
  { tenant: null, id: 'dan' },
  { tenant: 't1', id: 'ann' },
  { tenant: 't1', id: 'eve' },
];
export const TENANTS: (string | null)[] = [null, 't1'];
/** The platform admin the test searches with: a known user without a tenant, so broadcasts reach it. */
export const ADMIN: User = { tenant: null, id: 'model-admin' };
export const TYPES = ['order.shipped', 'order.paid', 'promo.weekly', 'promo.daily', 'chat'];
export const MUTE_PATTERNS = ['order.shipped', 'promo.*', 'chat', 'promo.weekly', 'order.*'];
export const TOPICS = ['news', 'ops', 'sports'];

/** Around an expiry, the test's clock and the database's may disagree: either outcome is right. */
export const CLOCK_MARGIN_MS = 600;
/** Notifications replayed after Last-Event-ID before `resync` (CONTRACT.md: "the replay limit"). */
export const REPLAY_LIMIT = 500;
/** Herald purges expired rows every 60 s; after that their ids may be gone from storage. */
export const PURGE_AFTER_MS = 55_000;

export function userKey(user: User): string {
  return `${user.tenant ?? ''}/${user.id}`;
}

export function usersOf(tenant: string | null): User[] {
  return POOL.filter((user) => user.tenant === tenant);
}

/** Ids are decimal strings, ordered as numbers. */
export function compareIds(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function maxId(ids: string[]): string | undefined {
  return ids.reduce<string | undefined>(
    (max, id) => (max === undefined || compareIds(id, max) > 0 ? id : max),
    undefined,
  );
}

/** Muted types: exact, or `prefix.*` for every type starting with `prefix.` (README). */
export function isMuted(type: string, muted: readonly string[]): boolean {
  return muted.some((pattern) =>
    pattern.endsWith('.*') ? type.startsWith(pattern.slice(0, -1)) : pattern === type,
  );
}

/** A message as the test publishes it. */
export interface Message {
  /** The test's own mark (`data.k`), to recognise the rows it created. */
  k: string;
  /** Publish order on the test's one channel. */
  seq: number;
  tenant: string | null;
  userIds: string[];
  topics: string[];
  broadcast: boolean;
  /** The idempotency key; undefined: none (Herald makes one up, and cannot deduplicate). */
  key?: string;
  /** Where the key goes: the body's `id` or the AMQP `message_id`. */
  keyVia: 'body' | 'message-id';
  type: string;
  /** False: the type is only in the routing key. */
  typeInBody: boolean;
  priority?: Priority;
  expiresAt?: number;
  deliverAt?: number;
}

export function bodyOf(message: Message): Record<string, unknown> {
  const recipients: Record<string, unknown> = {};
  if (message.userIds.length > 0) recipients.userIds = message.userIds;
  if (message.topics.length > 0) recipients.topics = message.topics;
  if (message.broadcast) recipients.broadcast = true;
  return {
    ...(message.key !== undefined && message.keyVia === 'body' && { id: message.key }),
    recipients,
    ...(message.typeInBody && { type: message.type }),
    title: `#${message.seq}`,
    data: { k: message.k },
    ...(message.priority && { priority: message.priority }),
    ...(message.tenant && { tenantId: message.tenant }),
    ...(message.expiresAt !== undefined && {
      expiresAt: new Date(message.expiresAt).toISOString(),
    }),
    ...(message.deliverAt !== undefined && {
      deliverAt: new Date(message.deliverAt).toISOString(),
    }),
  };
}

/** One stored notification, as the model expects it. */
export interface Row {
  user: User;
  key: string;
  k: string;
  seq: number;
  /** The operation that stored it. */
  op: number;
  type: string;
  title: string;
  priority: Priority;
  topic: string | null;
  expiresAt: number | null;
  /** Herald's id, once learned. */
  id?: string;
  read: boolean;
  archived: boolean;
  deleted: boolean;
  /** Read or not: a read-all ran as it expired (it stays invisible from then on anyway). */
  uncertain?: boolean;
  /**
   * Later messages of the same burst with the same key for the user: with two instances either
   * may be stored first (they take from one queue), and its content wins.
   */
  alternatives?: Pick<Row, 'k' | 'seq' | 'title' | 'type' | 'priority' | 'topic' | 'expiresAt'>[];
}

/** Visible at `at` (not deleted, not expired): true, false, or undefined when too close to call. */
export function visibleAt(row: Row, at: number): boolean | undefined {
  if (row.deleted) return false;
  if (row.expiresAt === null) return true;
  if (row.expiresAt > at + CLOCK_MARGIN_MS) return true;
  if (row.expiresAt < at - CLOCK_MARGIN_MS) return false;
  return undefined;
}

/** Expected members of a set: each required, or optional (either way is right). */
export interface Expected<T> {
  required: T[];
  optional: T[];
}

/** What a message stores, per CONTRACT.md, given the model's state now. */
export interface Prediction {
  rows: Row[];
  /**
   * Recipients whose id the reply should carry (stored now or before under the key): named ones
   * not muted, then the audience of topics or broadcast; undefined when the reply is not checked.
   */
  replied: { user: User; key: string }[];
}

export class Model {
  readonly rows = new Map<string, Row[]>();
  private readonly keys = new Map<string, Row>();
  readonly known = new Set<string>();
  readonly topics = new Map<string, Set<string>>();
  readonly muted = new Map<string, string[]>();
  /** Idempotency keys used so far, for repeats. */
  readonly usedKeys: string[] = [];
  /** When each user's streams were last due an unread count (ms), by userKey. */
  readonly countChangedAt = new Map<string, number>();
  /** Rows stored for generated users beyond the pool, counted with SQL at the end. */
  wideRows = 0;
  private serial = 0;
  /** When the first Herald of the run started (the expiry purge runs a minute later). */
  readonly startedAt = Date.now();

  constructor(readonly run: string) {}

  nextMark(): { k: string; seq: number } {
    this.serial += 1;
    return { k: `${this.run}-${this.serial}`, seq: this.serial };
  }

  /**
   * A new idempotency key; `repeatable` ones are remembered for repeats (not those of expiring
   * messages: the purge removes their rows, and with them what the key held).
   */
  newKey(repeatable: boolean): string {
    this.serial += 1;
    const key = `${this.run}-key-${this.serial}`;
    if (repeatable) this.usedKeys.push(key);
    return key;
  }

  rowsOf(user: User): Row[] {
    const key = userKey(user);
    let rows = this.rows.get(key);
    if (!rows) this.rows.set(key, (rows = []));
    return rows;
  }

  rowByKey(user: User, key: string): Row | undefined {
    return this.keys.get(`${userKey(user)}\u0000${key}`);
  }

  /** A user becomes known (a broadcast reaches them) with their first authenticated request. */
  touch(user: User): void {
    this.known.add(userKey(user));
  }

  knownUsers(tenant: string | null): User[] {
    return [...usersOf(tenant), ...(tenant === null ? [ADMIN] : [])].filter((user) =>
      this.known.has(userKey(user)),
    );
  }

  mutedOf(user: User): string[] {
    return this.muted.get(userKey(user)) ?? [];
  }

  topicsOf(user: User): Set<string> {
    const key = userKey(user);
    let topics = this.topics.get(key);
    if (!topics) this.topics.set(key, (topics = new Set()));
    return topics;
  }

  /**
   * What `message` stores when it is processed at `at`: nothing when it expired already; for each
   * named user, then for each member of its audience (subscribers of its topics, or every known
   * user of the tenant for a broadcast) not named, a row unless they muted its type (not
   * `critical`) or hold its key already.
   */
  predict(message: Message, at: number, op?: number): Prediction {
    const replied: Prediction['replied'] = [];
    const rows: Row[] = [];
    if (message.expiresAt !== undefined && message.expiresAt <= at) return { rows, replied };
    const key = message.key ?? `~keyless-${message.k}`;
    const consider = (user: User, topic: string | null) => {
      if (message.priority !== 'critical' && isMuted(message.type, this.mutedOf(user))) return;
      replied.push({ user, key });
      const held = this.rowByKey(user, key);
      if (held && held.op === op) {
        (held.alternatives ??= []).push({
          k: message.k,
          seq: message.seq,
          title: `#${message.seq}`,
          type: message.type,
          priority: message.priority ?? 'normal',
          topic,
          expiresAt: message.expiresAt ?? null,
        });
      }
      if (held || rows.some((row) => userKey(row.user) === userKey(user))) return;
      rows.push({
        user,
        key,
        k: message.k,
        seq: message.seq,
        op: -1,
        type: message.type,
        title: `#${message.seq}`,
        priority: message.priority ?? 'normal',
        topic,
        expiresAt: message.expiresAt ?? null,
        read: false,
        archived: false,
        deleted: false,
      });
    };
    const named = new Set(message.userIds);
    for (const id of message.userIds) {
      const user = POOL.find((each) => each.id === id && each.tenant === message.tenant);
      if (user) consider(user, null);
    }
    if (message.broadcast) {
      for (const user of this.knownUsers(message.tenant)) {
        if (!named.has(user.id)) consider(user, null);
      }
    } else if (message.topics.length > 0) {
      for (const user of usersOf(message.tenant)) {
        if (named.has(user.id)) continue;
        const held = [...this.topicsOf(user)].filter((topic) => message.topics.includes(topic));
        // One row per subscriber, tagged with the first of its topics by name (DELIVERY.md).
        if (held.length > 0) consider(user, held.sort()[0]);
      }
    }
    return { rows, replied };
  }

  /** Records rows as stored by operation `op`. */
  store(rows: Row[], op: number): void {
    for (const row of rows) {
      row.op = op;
      this.rowsOf(row.user).push(row);
      this.keys.set(`${userKey(row.user)}\u0000${row.key}`, row);
    }
  }

  /** The user's rows with a known id, in id order. */
  identified(user: User): Row[] {
    return this.rowsOf(user)
      .filter((row) => row.id !== undefined)
      .sort((a, b) => compareIds(a.id!, b.id!));
  }

  newestKnownId(user: User): string | undefined {
    return maxId(this.identified(user).map((row) => row.id!));
  }

  /** Unread, not archived, visible: the unread count, as a range when an expiry is too close. */
  unread(user: User, at: number): Expected<Row> {
    const result: Expected<Row> = { required: [], optional: [] };
    for (const row of this.rowsOf(user)) {
      if ((row.read && !row.uncertain) || row.archived) continue;
      const visible = visibleAt(row, at);
      if (visible && !row.uncertain) result.required.push(row);
      else if (visible !== false) result.optional.push(row);
    }
    return result;
  }

  /** The inbox of one status (README: default = not archived), newest first. */
  list(user: User, status: 'unread' | 'read' | 'all' | 'archived', at: number): Expected<Row> {
    const wanted = (row: Row) => {
      if (status === 'archived') return row.archived;
      if (row.archived) return false;
      return status === 'all' || (status === 'read') === row.read;
    };
    const result: Expected<Row> = { required: [], optional: [] };
    const unsure = (row: Row) =>
      !!row.uncertain && !row.archived && (status === 'read' || status === 'unread');
    for (const row of this.identified(user).reverse()) {
      if (!wanted(row) && !unsure(row)) continue;
      const visible = visibleAt(row, at);
      if (visible && !unsure(row)) result.required.push(row);
      else if (visible !== false) result.optional.push(row);
    }
    return result;
  }

  /**
   * The stream position storage holds for the user: the newest notification not deleted (expired
   * ones count until they are purged). Several candidates where that is unsure; undefined: unknown.
   */
  positions(user: User, at: number): string[] | undefined {
    const rows = this.rowsOf(user).filter((row) => !row.deleted);
    if (rows.some((row) => row.id === undefined)) return undefined;
    const all = maxId(rows.map((row) => row.id!)) ?? '0';
    if (at - this.startedAt < PURGE_AFTER_MS) return [all];
    const unexpired = rows.filter((row) => visibleAt(row, at) !== false);
    return [...new Set([all, maxId(unexpired.map((row) => row.id!)) ?? '0'])];
  }

  /** Whether storage holds a row of the user (deleted too) at or above `id`; undefined: unsure. */
  reached(user: User, id: string, at: number): boolean | undefined {
    const rows = this.rowsOf(user);
    if (rows.some((row) => row.id === undefined)) return undefined;
    const above = rows.filter((row) => compareIds(row.id!, id) >= 0);
    if (above.length === 0) return false;
    if (at - this.startedAt < PURGE_AFTER_MS) return true;
    return above.some((row) => row.expiresAt === null || row.expiresAt > at) ? true : undefined;
  }
}
