import { SseClient, SseEvent } from '../support/sse';
import { compareIds, Expected, Model, Row, User, userKey } from './model';
import type { HeraldWorld, Instance } from './world';

/** A `notification.updated` or `notification.bulk-updated` a connection should get. */
export interface ExpectedChange {
  op: number;
  event: 'notification.updated' | 'notification.bulk-updated';
  data: Record<string, unknown>;
  /** Either way is right (an expiry too close to call decided whether anything changed). */
  optional: boolean;
}

/** A `live` event a connection should get. */
export interface ExpectedLive {
  op: number;
  data: { type: string; data: { k: string }; topic?: string };
  /** Two instances: a topic's binding on the other one may lag a subscription by a moment. */
  optional: boolean;
}

/** What a connection must start with. */
export interface Opening {
  /** The `id:` of its first event (the position), among these; undefined: not checked. */
  ids?: string[];
  /** Where the position may move after the replay: storage's position then. */
  positions?: string[];
  count?: { min: number; max: number };
  resync: 'ahead-of-storage' | 'replay-limit' | 'no' | 'maybe';
}

/** One HTTP connection of a tab. */
export class Connection {
  readonly changes: ExpectedChange[] = [];
  readonly lives: ExpectedLive[] = [];
  openedAt = Date.now();

  constructor(
    readonly client: SseClient,
    readonly instance: Instance,
    readonly opening: Opening,
    readonly lastEventId: string | undefined,
  ) {}

  get events(): SseEvent[] {
    return this.client.events;
  }

  /** The position its last event carried. */
  get position(): string | undefined {
    return this.events.findLast((event) => event.id !== undefined)?.id;
  }

  lastCount(): number | undefined {
    return this.events.findLast((event) => event.event === 'unread-count')?.data.count;
  }
}

/**
 * A browser tab of one user: a stream across reconnects (the client reopens with its last
 * position when the server ends it, as browsers do). The model appends what each operation should
 * bring; `check()` compares with what came.
 */
export class Tab {
  readonly connections: Connection[] = [];
  /** Notifications the tab must (or may) receive, over all its connections. */
  readonly expected: { row: Row; optional: boolean }[] = [];
  closed = false;
  reconnects = 0;
  private reconnecting?: Promise<void>;

  constructor(
    readonly user: User,
    readonly name: string,
  ) {}

  get current(): Connection {
    return this.connections[this.connections.length - 1];
  }

  get instance(): Instance {
    return this.current.instance;
  }

  /** Opens a connection and resolves once it sent its first event (it read storage then). */
  async connect(
    world: HeraldWorld,
    instance: Instance,
    lastEventId: string | undefined,
    opening: Opening,
  ): Promise<Connection> {
    const client = await SseClient.open(instance.herald, {
      token: await world.token(this.user),
      lastEventId,
    });
    if (client.status !== 200) throw new Error(`${this.name}: stream answered ${client.status}`);
    const connection = new Connection(client, instance, opening, lastEventId);
    this.connections.push(connection);
    await client.next(() => true, 15_000);
    connection.openedAt = Date.now();
    void client.whenEnded().then(() => this.ended(world, connection));
    return connection;
  }

  /** The server ended the stream while its instance lives (a gap between instances): reopen. */
  private ended(world: HeraldWorld, connection: Connection): void {
    if (this.closed || connection !== this.current || !connection.instance.alive) return;
    this.reconnecting = this.reconnect(world, connection.instance).catch(() => undefined);
  }

  /** Reopens at the position the last connection reached (its last `id:`). */
  async reconnect(world: HeraldWorld, instance: Instance): Promise<void> {
    this.reconnects += 1;
    const position = this.current.position ?? this.current.lastEventId;
    await this.connect(world, instance, position, {
      ids: position === undefined ? undefined : [position],
      resync: 'no',
    });
  }

  whenReconnected(): Promise<void> {
    return this.reconnecting ?? Promise.resolve();
  }

  close(): void {
    this.closed = true;
    this.current.client.close();
  }

  /** Notification events received, over all connections, in order. */
  received(): { event: SseEvent; connection: number }[] {
    return this.connections.flatMap((connection, index) =>
      connection.events
        .filter((event) => event.event === 'notification')
        .map((event) => ({ event, connection: index })),
    );
  }

  /** Whether everything required arrived (on a live connection: changes and the count too). */
  settled(expectedCount?: { min: number; max: number }): boolean {
    const got = new Set(
      this.received().flatMap(({ event }) => [`k:${event.data?.data?.k}`, `id:${event.id}`]),
    );
    const arrived = (row: Row) => got.has(`k:${row.k}`) || got.has(`id:${row.id}`);
    if (this.expected.some(({ row, optional }) => !optional && !arrived(row))) return false;
    const current = this.current;
    const changes = current.events.filter((event) => event.event?.startsWith('notification.'));
    if (changes.length < current.changes.filter((change) => !change.optional).length) return false;
    const lives = new Set(
      current.events
        .filter((event) => event.event === 'live')
        .map((event) => JSON.stringify(event.data)),
    );
    if (current.lives.some((live) => !live.optional && !lives.has(JSON.stringify(live.data)))) {
      return false;
    }
    if (expectedCount) {
      const count = current.lastCount();
      if (count === undefined || count < expectedCount.min || count > expectedCount.max) {
        return false;
      }
    }
    return true;
  }

  /** Waits (for events, not for time) until `settled`, or the deadline. */
  async settle(deadline: number, expectedCount?: { min: number; max: number }): Promise<boolean> {
    await this.whenReconnected();
    while (!this.settled(expectedCount) && Date.now() < deadline) {
      const client = this.current.client;
      await client.next(() => true, Math.max(1, deadline - Date.now())).catch(() => undefined);
      await this.whenReconnected();
    }
    return this.settled(expectedCount);
  }
}

/** A failed expectation, with the tab and what differed. */
function fail(tab: Tab, what: string, detail: unknown): never {
  throw new Error(`${tab.name} (${userKey(tab.user)}): ${what}: ${JSON.stringify(detail)}`);
}

const EVENTS = new Set([
  'unread-count',
  'notification',
  'notification.updated',
  'notification.bulk-updated',
  'resync',
  'live',
  undefined,
]);

/**
 * Every check of one tab against the model: each notification once, in id order, exactly the
 * expected ones (CONTRACT.md "The SSE stream"); its payload as stored; every `id:` the stream's
 * position; resync where the position was ahead or the gap too long; each connection's changes in
 * order; its first unread count, and the last one equal to the model's (`counts`).
 */
export function checkTab(
  tab: Tab,
  model: Model,
  options: { counts: Expected<Row>[]; orderByOp: boolean },
): void {
  const byK = new Map(tab.expected.map((entry) => [entry.row.k, entry]));
  const byId = new Map(tab.expected.map((entry) => [entry.row.id, entry]));
  const received = new Set<Row>();
  let previous: string | undefined;
  for (const { event } of tab.received()) {
    const data = event.data;
    if (event.id !== data?.id) fail(tab, 'notification id: is not its position', event);
    const entry = byK.get(data?.data?.k);
    const stored = byId.get(data?.id);
    if (!entry && stored) {
      // The id is one the tab expects, the content another message's.
      fail(tab, `notification ${data.id} differs from the stored one`, {
        stream: { title: data.title, type: data.type, priority: data.priority, k: data.data?.k },
        stored: {
          title: stored.row.title,
          type: stored.row.type,
          priority: stored.row.priority,
          k: stored.row.k,
        },
        sameKey: stored.row.key,
      });
    }
    if (!entry) {
      const k = data?.data?.k;
      fail(tab, 'a notification the model does not expect on this stream', {
        data,
        modelRowsOfThatMessage: [...model.rows.values()]
          .flat()
          .filter((row) => row.k === k)
          .map((row) => ({ user: userKey(row.user), id: row.id, key: row.key, op: row.op })),
        tabOpenedAt: tab.connections.map((connection) => connection.lastEventId ?? 'none'),
      });
    }
    const row = entry.row;
    row.id ??= data.id; // expired before the admin search saw it: learnt here
    const wanted = {
      id: row.id,
      userId: tab.user.id,
      tenantId: tab.user.tenant,
      type: row.type,
      title: row.title,
      priority: row.priority,
      topic: row.topic,
    };
    received.add(row);
    const got = Object.fromEntries(Object.keys(wanted).map((key) => [key, data[key]]));
    if (JSON.stringify(got) !== JSON.stringify(wanted)) {
      fail(tab, 'notification differs from the stored one', { got, wanted });
    }
    if (previous !== undefined && compareIds(data.id, previous) <= 0) {
      fail(tab, 'notifications out of id order or twice', { previous, then: data.id });
    }
    previous = data.id;
  }
  const missing = tab.expected.filter(({ row, optional }) => !optional && !received.has(row));
  if (missing.length > 0) {
    fail(tab, 'notifications never received', {
      missing: missing.map(({ row }) => ({ id: row.id, title: row.title })),
      received: tab.received().map(({ event }) => event.id),
    });
  }
  tab.connections.forEach((connection, index) =>
    checkConnection(tab, connection, index, model, options.orderByOp),
  );
  const last = tab.current.lastCount();
  const { counts } = options;
  if (!tab.closed && !counts.some((count) => inRange(last, count))) {
    fail(tab, 'last unread-count differs from the model', {
      got: last,
      expected: counts.map(rangeOf),
    });
  }
}

function rangeOf(count: Expected<Row>): { min: number; max: number } {
  return { min: count.required.length, max: count.required.length + count.optional.length };
}

function inRange(value: number | undefined, count: Expected<Row>): boolean {
  const { min, max } = rangeOf(count);
  return value !== undefined && value >= min && value <= max;
}

function checkConnection(
  tab: Tab,
  connection: Connection,
  index: number,
  model: Model,
  orderByOp: boolean,
): void {
  const where = `connection ${index} (Last-Event-ID ${connection.lastEventId ?? 'none'})`;
  const events = connection.events.filter((event) => event.event !== undefined || event.id);
  for (const event of events) {
    if (!EVENTS.has(event.event)) fail(tab, `${where}: unexpected event`, event);
  }
  const [first, second] = events;
  const { opening } = connection;
  if (first?.event !== 'unread-count')
    fail(tab, `${where}: first event is not unread-count`, first);
  if (opening.ids && !opening.ids.includes(first.id!)) {
    fail(tab, `${where}: first position`, { got: first.id, expected: opening.ids });
  }
  if (opening.count) {
    const { min, max } = opening.count;
    if (!(first.data.count >= min && first.data.count <= max)) {
      fail(tab, `${where}: unread-count on open`, { got: first.data.count, min, max });
    }
  }
  const resync = events.filter((event) => event.event === 'resync');
  if (opening.resync === 'no' || opening.resync === 'maybe') {
    if (resync.length > (opening.resync === 'maybe' ? 1 : 0)) {
      fail(tab, `${where}: resync not expected`, resync);
    }
  } else if (
    resync.length !== 1 ||
    second !== resync[0] ||
    second.id !== first.id ||
    second.data?.reason !== opening.resync
  ) {
    fail(tab, `${where}: expected resync (${opening.resync}) right after the count`, events);
  }

  // Every event's id: is the position: the last notification passed, or where it opened, or
  // (once, after the replay) the position storage held when it opened.
  let position = first.id!;
  let bumped = false;
  for (const event of events.slice(1)) {
    if (event.event === 'notification') {
      position = event.id!;
      continue;
    }
    if (event.id === position) continue;
    const later =
      event.id !== undefined && /^\d+$/.test(event.id) && compareIds(event.id, position) > 0;
    if (!bumped && later && (!opening.positions || opening.positions.includes(event.id!))) {
      bumped = true;
      position = event.id!;
      continue;
    }
    fail(tab, `${where}: an event's id is not the stream position ${position}`, event);
  }

  // Changes: exactly the expected ones, in order (optional ones may be missing).
  const changes = events.filter((event) => event.event?.startsWith('notification.'));
  let next = 0;
  for (const change of changes) {
    while (
      next < connection.changes.length &&
      connection.changes[next].optional &&
      !sameChange(change, connection.changes[next])
    ) {
      next += 1;
    }
    const wanted = connection.changes[next];
    if (!wanted || !sameChange(change, wanted)) {
      fail(tab, `${where}: change event differs`, { got: change, wanted });
    }
    next += 1;
  }
  const left = connection.changes.slice(next).filter((change) => !change.optional);
  if (
    left.length > 0 &&
    !(connection.client.response.destroyed && index < tab.connections.length - 1)
  ) {
    fail(tab, `${where}: change events never received`, left);
  }

  // Live events: each expected one once (in order with one instance: one consumer pushes all).
  const lives = events
    .filter((event) => event.event === 'live')
    .map((event) => JSON.stringify(event.data));
  const wantedLives = connection.lives.map((live) => JSON.stringify(live.data));
  const requiredLives = connection.lives
    .filter((live) => !live.optional)
    .map((live) => JSON.stringify(live.data));
  const ended = connection.client.response.destroyed && index < tab.connections.length - 1;
  const livesMatch =
    lives.every((live) => wantedLives.includes(live)) &&
    (ended || requiredLives.every((live) => lives.includes(live))) &&
    (!orderByOp ||
      JSON.stringify(lives) === JSON.stringify(wantedLives.filter((l) => lives.includes(l))));
  if (!livesMatch || new Set(lives).size !== lives.length) {
    fail(tab, `${where}: live events differ`, { got: lives, wanted: wantedLives });
  }

  if (orderByOp) checkOpOrder(tab, connection, where, model);
}

function sameChange(event: SseEvent, wanted: ExpectedChange): boolean {
  if (event.event !== wanted.event) return false;
  const data = event.data as Record<string, unknown>;
  return Object.entries(wanted.data).every(
    ([key, value]) => JSON.stringify(data[key]) === JSON.stringify(value),
  );
}

/** One instance: notifications and changes arrive in the order the operations made them. */
function checkOpOrder(tab: Tab, connection: Connection, where: string, model: Model): void {
  const byK = new Map(tab.expected.map((entry) => [entry.row.k, entry.row]));
  const byId = new Map(tab.expected.map((entry) => [entry.row.id, entry.row]));
  let changeIndex = 0;
  let lastOp = -1;
  for (const event of connection.events) {
    let op: number | undefined;
    if (event.event === 'notification') {
      op = (byK.get(event.data.data.k) ?? byId.get(event.data.id))?.op;
    } else if (event.event === 'live') {
      op = connection.lives.find(
        (live) => JSON.stringify(live.data) === JSON.stringify(event.data),
      )?.op;
    } else if (event.event?.startsWith('notification.')) {
      op = connection.changes.find(
        (change, index) => index >= changeIndex && sameChange(event, change),
      )?.op;
      changeIndex += 1;
    }
    if (op === undefined) continue;
    if (op < lastOp) {
      fail(tab, `${where}: an event of operation ${op} came after one of operation ${lastOp}`, {
        event,
        run: model.run,
      });
    }
    lastOp = op;
  }
}
