import { mkdir, writeFile } from 'node:fs/promises';
import fc from 'fast-check';
import { join } from 'node:path';
import type { StorageKind } from '../support/storage';
import { eventually } from '../support/eventually';
import {
  ADMIN,
  compareIds,
  Expected,
  Message,
  Model,
  MUTE_PATTERNS,
  POOL,
  Prediction,
  REPLAY_LIMIT,
  Row,
  TENANTS,
  TOPICS,
  TYPES,
  User,
  userKey,
  usersOf,
  visibleAt,
} from './model';
import { messageOf, Mode, Operation, outgoing, pick, Scenario } from './operations';
import { Producer, Reply, repliesWithin } from './producer';
import { checkTab, ExpectedChange, Opening, Tab } from './tabs';
import { HeraldWorld, Instance } from './world';

export interface RunOptions {
  /**
   * Also fail when a stream's last unread count missed an expiry that no later change followed
   * (CONTRACT.md promises a count "after every change"; whether an expiry is one is not said).
   */
  strictExpiryCounts?: boolean;
  log?: (line: string) => void;
}

export interface RunFigures {
  operations: number;
  rows: number;
  wideRows: number;
  streamEvents: number;
  reconnects: number;
  ms: number;
}

const AHEAD = '9000000000000000000';
/** How long a fault may take to heal (everything stored, every stream caught up). */
const FAULT_MS = 60_000;
const SETTLE_MS = 10_000;

/**
 * A fault during a burst: `act` runs once `after` replies came, and may publish `meanwhile` (its
 * replies it answers).
 */
interface Fault {
  after: number;
  meanwhile?: Message[];
  act: () => Promise<Promise<Reply>[]>;
}

/** An assertion of the model test: what differed, with the operations that led there. */
export class ModelMismatch extends Error {}

/**
 * One run of a scenario: a fresh world (storage, prefix, Heralds), the operations one after the
 * other, each checked as it goes, then everything checked against the model; always cleaned up.
 */
export async function runScenario(
  kind: StorageKind,
  scenario: Scenario,
  options: RunOptions = {},
): Promise<RunFigures> {
  const started = Date.now();
  const run = await Run.start(kind, scenario.mode, options);
  try {
    for (const operation of scenario.operations) await run.execute(operation);
    await run.finish();
    return run.figures(started);
  } catch (error) {
    // Another suite cut every connection on the shared broker: not this scenario's doing.
    if (run.producer.interference) {
      options.log?.(`discarded: ${run.producer.interference}`);
      fc.pre(false);
    }
    const dump = await run.dump().catch((reason: Error) => `(no dump: ${reason.message})`);
    throw new ModelMismatch(
      `${(error as Error).message}\n  run ${run.model.run} on ${kind} (${scenario.mode}); model and storage in ${dump}; operations:\n${run.trace.join('\n')}`,
      { cause: error },
    );
  } finally {
    await run.dispose();
  }
}

class Run {
  readonly trace: string[] = [];
  readonly tabs: Tab[] = [];
  private op = 0;
  private streamTabs = 0;

  private constructor(
    readonly world: HeraldWorld,
    readonly model: Model,
    readonly producer: Producer,
    readonly mode: Mode,
    private readonly options: RunOptions,
  ) {}

  static async start(kind: StorageKind, mode: Mode, options: RunOptions): Promise<Run> {
    const world = await HeraldWorld.create(kind, mode === 'pair' ? 2 : 1);
    try {
      const producer = await Producer.open(world.exchange);
      const model = new Model(world.env.AMQP_PREFIX.replace(/\W+$/, '').slice(-12));
      const run = new Run(world, model, producer, mode, options);
      // The admin the test searches with is a known user (of no tenant) from the start.
      expectStatus(await world.request(ADMIN, 'GET', '/api/v1/admin/stats'), 200, 'admin stats');
      model.touch(ADMIN);
      return run;
    } catch (error) {
      await world.cleanup();
      throw error;
    }
  }

  figures(started: number): RunFigures {
    const rows = [...this.model.rows.values()].reduce((sum, rows) => sum + rows.length, 0);
    return {
      operations: this.op,
      rows,
      wideRows: this.model.wideRows,
      streamEvents: this.tabs.reduce(
        (sum, tab) => sum + tab.connections.reduce((n, c) => n + c.events.length, 0),
        0,
      ),
      reconnects: this.tabs.reduce((sum, tab) => sum + tab.reconnects, 0),
      ms: Date.now() - started,
    };
  }

  /** After a failure: the model's rows and the stored ones, side by side, in test-results/. */
  async dump(): Promise<string> {
    for (const tab of this.tabs) if (!tab.closed) tab.close();
    await this.world.stop();
    const file = join('test-results', `model-${this.model.run}.json`);
    const model = [...this.model.rows.values()].flat().map((row) => ({
      ...describe(row),
      user: userKey(row.user),
      key: row.key,
      op: row.op,
    }));
    const streams = this.tabs.map((tab) => ({
      tab: tab.name,
      user: userKey(tab.user),
      connections: tab.connections.map((connection) => ({
        lastEventId: connection.lastEventId,
        events: connection.events.map(({ event, id, data }) => ({
          event,
          id,
          k: data?.data?.k,
          data,
        })),
      })),
    }));
    await mkdir('test-results', { recursive: true });
    await writeFile(
      file,
      JSON.stringify(
        { model, stored: await this.world.poolRows(), streams, trace: this.trace },
        null,
        1,
      ),
    );
    return file;
  }

  async dispose(): Promise<void> {
    for (const tab of this.tabs) if (!tab.closed) tab.close();
    await this.producer.close().catch(() => undefined);
    await this.world.cleanup();
  }

  private note(line: string): void {
    this.trace.push(`    #${this.op} ${line}`);
    this.options.log?.(`#${this.op} ${line}`);
  }

  async execute(operation: Operation): Promise<void> {
    this.op += 1;
    this.note(JSON.stringify(operation));
    switch (operation.kind) {
      case 'publish':
        return this.store(operation.messages.map((spec) => messageOf(this.model, spec)));
      case 'burst':
        return this.burst(operation);
      case 'fan-out': {
        const { message, topics, broadcast } = operation;
        return this.store([
          messageOf(this.model, message, {
            topics: topics.map((index) => TOPICS[index]),
            broadcast,
          }),
        ]);
      }
      case 'wide':
        return this.wide(operation);
      case 'scheduled':
        return this.scheduled(operation);
      case 'live':
        return this.liveEvent(operation);
      case 'subscribe':
        return this.subscribe(operation);
      case 'mute':
        return this.mute(operation);
      case 'patch':
        return this.patch(operation);
      case 'delete':
        return this.delete(operation);
      case 'read-all':
        return this.readAll(POOL[operation.user]);
      case 'touch':
        return this.touch(POOL[operation.user]);
      case 'open':
        return this.open(operation);
      case 'close':
        return this.close(operation.tab);
      case 'kill':
        return this.kill(operation);
      case 'broker-drop':
        return this.brokerDrop(operation);
    }
  }

  // --- storing -------------------------------------------------------------------------------

  /**
   * Publishes `messages` as one burst and checks what each stored: exactly the model's rows, found
   * by an admin search (each once: a second row of a key is a failure), the replies' ids, and
   * with one instance, each user's new ids in publish order. `fault` runs once `after` replies
   * came (replies can then be lost: the backlog draining says when all were settled).
   */
  private async store(
    first: Message[],
    fault?: Fault,
    wide = new Map<Message, number>(),
  ): Promise<void> {
    const at = Date.now();
    const messages = [...first, ...(fault?.meanwhile ?? [])];
    const predictions = messages.map((message) => {
      const prediction = this.model.predict(message, at, this.op);
      this.model.store(prediction.rows, this.op);
      return prediction;
    });
    this.note(`  messages ${messages.map(describeMessage).join('; ')}`.slice(0, 3000));
    const replies = await this.producer.publish(first.map(outgoing));
    if (fault) {
      await repliesWithin(replies.slice(0, Math.min(fault.after, replies.length)), 30_000);
      replies.push(...(await fault.act()));
    }
    const got = await repliesWithin(replies, fault ? 10_000 : 30_000);
    if (got.some((reply) => reply === undefined)) {
      if (!fault) fail('replies missing', { missing: got.filter((r) => !r).length });
      // Lost with a killed instance after its acknowledgement: once the queue is empty, every
      // message was settled.
      await eventually(async () => assert((await this.world.ingestBacklog()) === 0, 'backlog'), {
        timeoutMs: FAULT_MS,
        intervalMs: 200,
      });
    }
    got.forEach((reply, index) => {
      if (reply && !reply.ok) fail('a message was refused', { reply, message: messages[index] });
    });
    const rows = predictions.flatMap((prediction) => prediction.rows);
    // Everyone a message could reach is searched: a row for anyone else is a failure too.
    const reached =
      fault || messages.some((message) => message.broadcast || message.topics.length > 0)
        ? [...POOL, ADMIN]
        : POOL.filter((user) =>
            messages.some((m) => m.tenant === user.tenant && m.userIds.includes(user.id)),
          );
    await this.learn(rows, fault ? FAULT_MS : 0, reached);
    messages.forEach((message, index) =>
      this.checkReply(message, predictions[index], got[index], wide.get(message) ?? 0),
    );
    this.deliver(rows);
    this.note(`  stored ${rows.length} rows for the pool`);
  }

  private burst(operation: Extract<Operation, { kind: 'burst' }>): Promise<void> {
    const tenant = TENANTS[operation.tenant % TENANTS.length];
    const pool = usersOf(tenant);
    const messages: Message[] = [];
    for (let n = 0; n < operation.size; n += 1) {
      const repeat = n > 0 && operation.repeatEvery > 0 && n % operation.repeatEvery === 0;
      const earlier = messages[Math.floor(n / 2)];
      messages.push({
        ...this.model.nextMark(),
        tenant,
        userIds: [pool[operation.users[n % operation.users.length] % pool.length].id],
        topics: [],
        broadcast: false,
        key: repeat && earlier ? earlier.key : this.model.newKey(true),
        keyVia: 'body',
        type: TYPES[n % TYPES.length],
        typeInBody: n % 3 !== 0,
      });
    }
    return this.store(messages);
  }

  private wide(operation: Extract<Operation, { kind: 'wide' }>): Promise<void> {
    const extra = Array.from({ length: operation.extra }, (_, i) => `w${this.op}-${i}`);
    const spec = { ...operation.message, tenant: 0, key: 'new' as const };
    const wide = new Map<Message, number>();
    // userIds holds at most 1,000: the first message also names pool users, the rest only extras.
    const first = messageOf(this.model, spec);
    const room = 1000 - first.userIds.length;
    first.userIds.push(...extra.slice(0, room));
    wide.set(first, Math.min(room, extra.length));
    const messages = [first];
    for (let start = room; start < extra.length; start += 1000) {
      const message = messageOf(this.model, spec);
      message.userIds = extra.slice(start, start + 1000);
      wide.set(message, message.userIds.length);
      messages.push(message);
    }
    this.model.wideRows += extra.length;
    return this.store(messages, undefined, wide);
  }

  private async scheduled(operation: Extract<Operation, { kind: 'scheduled' }>): Promise<void> {
    const deliverAt = Date.now() + operation.delayMs;
    const message = messageOf(this.model, operation.message, {
      topics: operation.topics.map((index) => TOPICS[index]),
      broadcast: operation.broadcast,
      deliverAt,
    });
    if (message.topics.length === 0 && !message.broadcast && message.userIds.length === 0) {
      message.userIds = [usersOf(message.tenant)[0].id];
    }
    const [reply] = await repliesWithin(await this.producer.publish([outgoing(message)]), 30_000);
    if (!reply?.ok || reply.scheduled === undefined || (reply.ids ?? []).length > 0) {
      fail('a scheduled message was not held', { reply });
    }
    // Held until deliverAt, stored by whichever instance claims it: the entry goes once stored.
    const tenant = message.tenant ? `?tenantId=${message.tenant}` : '';
    await eventually(
      async () => {
        const answer = await this.world.request(ADMIN, 'GET', `/api/v1/admin/scheduled${tenant}`);
        expectStatus(answer, 200, 'admin scheduled');
        assert(answer.body.items.length === 0, 'still scheduled');
      },
      { timeoutMs: operation.delayMs + 15_000, intervalMs: 100 },
    );
    if (Date.now() < deliverAt - 50) fail('delivered before deliverAt', { deliverAt });
    const prediction = this.model.predict(message, Date.now());
    this.model.store(prediction.rows, this.op);
    await this.learn(prediction.rows, 0);
    this.deliver(prediction.rows);
    this.note(`  delivered ${prediction.rows.length} rows`);
  }

  /**
   * Finds the rows the users gained (newer than every id the model knows) with the admin search,
   * matched by `data.k`: each expected one must be there (`patientMs`: within that long), nothing
   * else may be. With one instance, each user's new ids follow publish order.
   */
  private async learn(rows: Row[], patientMs: number, also: User[] = []): Promise<void> {
    const users = new Map(
      [...also, ...rows.map((row) => row.user)].map((user) => [userKey(user), user]),
    );
    const deadline = Date.now() + patientMs;
    for (const user of users.values()) {
      for (;;) {
        const fresh = await this.searchAbove(user, this.model.newestKnownId(user));
        for (const item of fresh) {
          const row =
            this.model.rowsOf(user).find((each) => each.k === item.data?.k) ??
            this.adopt(user, item);
          if (!row) fail(`${userKey(user)}: a row the model does not expect`, item);
          if (row.id !== undefined && row.id !== item.id) {
            fail(`${userKey(user)}: stored twice`, { first: row.id, again: item });
          }
          row.id = item.id;
        }
        const mine = rows.filter((row) => userKey(row.user) === userKey(user));
        const missing = mine.filter(
          (row) => row.id === undefined && visibleAt(row, Date.now()) === true,
        );
        if (missing.length === 0) {
          if (this.live().length === 1 && this.mode === 'single') this.checkPublishOrder(mine);
          break;
        }
        if (Date.now() > deadline) {
          fail(
            `${userKey(user)}: rows not stored`,
            missing.map(({ k, key, title }) => ({ k, key, title })),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  /**
   * Two instances: of the burst's messages with one key for the user, the one stored first wins;
   * the row takes its content.
   */
  private adopt(user: User, item: any): Row | undefined {
    if (this.mode !== 'pair') return undefined;
    const row = this.model
      .rowsOf(user)
      .find(
        (each) => each.id === undefined && each.alternatives?.some((alt) => alt.k === item.data?.k),
      );
    if (!row) return undefined;
    const chosen = row.alternatives!.find((alt) => alt.k === item.data?.k)!;
    const { k, seq, title, type, priority, topic, expiresAt } = row;
    row.alternatives = [
      ...row.alternatives!.filter((alt) => alt !== chosen),
      { k, seq, title, type, priority, topic, expiresAt },
    ];
    Object.assign(row, chosen);
    return row;
  }

  private checkPublishOrder(rows: Row[]): void {
    const stored = rows
      .filter((row) => row.id !== undefined)
      .sort((a, b) => compareIds(a.id!, b.id!));
    for (let i = 1; i < stored.length; i += 1) {
      if (stored[i].seq < stored[i - 1].seq) {
        fail(`${userKey(stored[i].user)}: stored out of publish order`, {
          earlier: { id: stored[i - 1].id, title: stored[i - 1].title },
          later: { id: stored[i].id, title: stored[i].title },
        });
      }
    }
  }

  /** The user's notifications above `floor`, oldest first, through the admin search. */
  private async searchAbove(user: User, floor: string | undefined): Promise<any[]> {
    const found: any[] = [];
    let cursor: string | null = null;
    for (;;) {
      const query = new URLSearchParams({ userId: user.id, limit: '100' });
      if (user.tenant) query.set('tenantId', user.tenant);
      if (cursor) query.set('cursor', cursor);
      const answer = await this.world.request(
        ADMIN,
        'GET',
        `/api/v1/admin/notifications?${query.toString()}`,
      );
      expectStatus(answer, 200, 'admin search');
      for (const item of answer.body.items) {
        if (floor !== undefined && compareIds(item.id, floor) <= 0) return found.reverse();
        found.push(item);
      }
      cursor = answer.body.nextCursor;
      if (!cursor) return found.reverse();
    }
  }

  /** The reply's ids: one per recipient reached (stored now or before), muted ones left out. */
  private checkReply(
    message: Message,
    prediction: Prediction,
    reply: Reply | undefined,
    wide: number,
  ): void {
    if (!reply) return;
    const ids = reply.ids ?? [];
    if (wide > 0) {
      if (ids.length !== wide + prediction.replied.length) {
        fail('reply ids of a wide message', {
          got: ids.length,
          expected: wide + prediction.replied.length,
        });
      }
      return;
    }
    const expected = prediction.replied.map(({ user, key }) => this.model.rowByKey(user, key)?.id);
    if (expected.some((id) => id === undefined)) return; // expired before it was seen
    const sorted = (list: string[]) => [...list].sort(compareIds);
    if (JSON.stringify(sorted(ids)) !== JSON.stringify(sorted(expected as string[]))) {
      fail('reply ids', { message: message.k, got: ids, expected });
    }
  }

  /** New rows reach every open tab of their user live. */
  private deliver(rows: Row[]): void {
    for (const row of rows) {
      this.model.countChangedAt.set(userKey(row.user), Date.now());
      for (const tab of this.openTabs(row.user)) tab.expected.push({ row, optional: false });
    }
  }

  /**
   * A live event reaches every open tab of its recipients, once: named users, followers of its
   * topics (`topic`: the first of its topics they follow, unless named), everyone of the tenant
   * for a broadcast. Acknowledged (and answered) once pushed.
   */
  private async liveEvent(operation: Extract<Operation, { kind: 'live' }>): Promise<void> {
    const tenant = TENANTS[operation.tenant % TENANTS.length];
    const pool = usersOf(tenant);
    const userIds = [...new Set(operation.users.map((index) => pool[index % pool.length].id))];
    const topics = operation.topics.map((index) => TOPICS[index]);
    if (userIds.length === 0 && topics.length === 0 && !operation.broadcast)
      userIds.push(pool[0].id);
    const { k } = this.model.nextMark();
    const type = `live.${TYPES[this.op % TYPES.length]}`;
    const recipients = {
      ...(userIds.length > 0 && { userIds }),
      ...(topics.length > 0 && { topics }),
      ...(operation.broadcast && { broadcast: true }),
    };
    const body = {
      recipients,
      ...(operation.typeInBody && { type }),
      data: { k },
      ...(tenant && { tenantId: tenant }),
    };
    const [reply] = await repliesWithin(
      await this.producer.publish([{ routingKey: `event.${type}`, body }]),
      30_000,
    );
    if (!reply?.ok) fail('a live event was refused', reply);
    for (const tab of this.tabs.filter((each) => !each.closed && each.user.tenant === tenant)) {
      const named = userIds.includes(tab.user.id);
      const topic = topics.find((each) => this.model.topicsOf(tab.user).has(each));
      if (!named && !topic && !operation.broadcast) continue;
      tab.current.lives.push({
        op: this.op,
        data: { type, data: { k }, ...(!named && topic && { topic }) },
        optional: this.mode === 'pair' && !named && !operation.broadcast,
      });
    }
  }

  // --- the inbox over REST -------------------------------------------------------------------

  private async subscribe(operation: Extract<Operation, { kind: 'subscribe' }>): Promise<void> {
    const user = POOL[operation.user];
    const topic = TOPICS[operation.topic];
    const method = operation.subscribe ? 'PUT' : 'DELETE';
    expectStatus(await this.world.request(user, method, `/api/v1/topics/${topic}`), 204, method);
    this.model.touch(user);
    if (operation.subscribe) this.model.topicsOf(user).add(topic);
    else this.model.topicsOf(user).delete(topic);
    const answer = await this.world.request(user, 'GET', '/api/v1/topics');
    expectStatus(answer, 200, 'topics');
    same('topics', answer.body.topics, [...this.model.topicsOf(user)].sort());
  }

  private async mute(operation: Extract<Operation, { kind: 'mute' }>): Promise<void> {
    const user = POOL[operation.user];
    const mutedTypes = operation.patterns.map((index) => MUTE_PATTERNS[index]);
    const answer = await this.world.request(user, 'PUT', '/api/v1/preferences', {
      body: { mutedTypes },
    });
    expectStatus(answer, 200, 'preferences');
    same('preferences', answer.body.mutedTypes, mutedTypes);
    this.model.touch(user);
    this.model.muted.set(userKey(user), mutedTypes);
  }

  /** The target: one of the user's rows (any state), or another user's (`foreign`: 404). */
  private target(user: User, index: number, foreign: boolean): Row | undefined {
    const rows = foreign
      ? [...POOL, ADMIN]
          .filter((other) => userKey(other) !== userKey(user))
          .flatMap((other) => this.model.identified(other))
      : this.model.identified(user);
    return pick(rows, index);
  }

  private async patch(operation: Extract<Operation, { kind: 'patch' }>): Promise<void> {
    const user = POOL[operation.user];
    const row = this.target(user, operation.target, operation.foreign);
    if (!row) return this.note('  (no target)');
    const body = {
      ...(operation.read !== undefined && { read: operation.read }),
      ...(operation.archived !== undefined && { archived: operation.archived }),
    };
    if (Object.keys(body).length === 0) Object.assign(body, { read: true });
    const before = Date.now();
    const answer = await this.world.request(user, 'PATCH', `/api/v1/notifications/${row.id}`, {
      body,
    });
    this.model.touch(user);
    const visible = operation.foreign ? false : visibleAt(row, before);
    const expected = visible === undefined ? [200, 404] : [visible ? 200 : 404];
    if (!expected.includes(answer.status)) {
      fail('PATCH status', { got: answer.status, expected, row: describe(row) });
    }
    if (answer.status !== 200) return;
    if ('read' in body) row.read = body.read!;
    if ('archived' in body) row.archived = body.archived!;
    this.checkItem(answer.body, row, 'PATCH answer');
    this.changed(user, {
      event: 'notification.updated',
      data: { id: row.id, readAt: answer.body.readAt, archivedAt: answer.body.archivedAt },
      optional: false,
    });
  }

  private async delete(operation: Extract<Operation, { kind: 'delete' }>): Promise<void> {
    const user = POOL[operation.user];
    const row = this.target(user, operation.target, operation.foreign);
    if (!row) return this.note('  (no target)');
    const before = Date.now();
    const answer = await this.world.request(user, 'DELETE', `/api/v1/notifications/${row.id}`);
    this.model.touch(user);
    const visible = operation.foreign ? false : visibleAt(row, before);
    const expected = visible === undefined ? [204, 404] : [visible ? 204 : 404];
    if (!expected.includes(answer.status)) {
      fail('DELETE status', { got: answer.status, expected, row: describe(row) });
    }
    if (answer.status !== 204) return;
    row.deleted = true;
    this.changed(user, {
      event: 'notification.updated',
      data: { id: row.id, deleted: true },
      optional: false,
    });
  }

  private async readAll(user: User): Promise<void> {
    const unread = this.model.unread(user, Date.now());
    const answer = await this.world.request(user, 'POST', '/api/v1/notifications/read-all');
    this.model.touch(user);
    expectStatus(answer, 200, 'read-all');
    const { required, optional } = unread;
    const updated = answer.body.updated;
    if (!(updated >= required.length && updated <= required.length + optional.length)) {
      fail('read-all updated', {
        got: updated,
        required: required.length,
        optional: optional.length,
      });
    }
    for (const row of required) row.read = true;
    for (const row of optional) {
      row.read = true;
      row.uncertain = true;
    }
    if (updated === 0 && required.length === 0 && optional.length === 0) return;
    const upTo = required.map((row) => row.id).filter((id) => id !== undefined);
    this.changed(user, {
      event: 'notification.bulk-updated',
      data: {
        filter: { status: 'unread' },
        set: { read: true },
        ...(optional.length === 0 &&
          upTo.length === required.length && { upTo: upTo.sort(compareIds).at(-1) }),
      },
      optional: required.length === 0,
    });
  }

  /** A change every open tab of the user is told about (and a recount). */
  private changed(user: User, change: Omit<ExpectedChange, 'op'>): void {
    this.model.countChangedAt.set(userKey(user), Date.now());
    for (const tab of this.openTabs(user)) tab.current.changes.push({ ...change, op: this.op });
  }

  private async touch(user: User): Promise<void> {
    const expected = this.model.unread(user, Date.now());
    const answer = await this.world.request(user, 'GET', '/api/v1/notifications/unread-count');
    this.model.touch(user);
    expectStatus(answer, 200, 'unread-count');
    expectCount(user, answer.body.count, expected);
  }

  // --- streams -------------------------------------------------------------------------------

  private openTabs(user: User): Tab[] {
    return this.tabs.filter((tab) => !tab.closed && userKey(tab.user) === userKey(user));
  }

  private live(): Instance[] {
    return this.world.live();
  }

  private async open(operation: Extract<Operation, { kind: 'open' }>): Promise<void> {
    const user = POOL[operation.user];
    if (this.openTabs(user).length >= 3) return this.note('  (3 tabs open already)');
    const instance = this.live()[operation.instance % this.live().length];
    const at = Date.now();
    const positions = this.model.positions(user, at);
    let lastEventId: string | undefined;
    switch (operation.from) {
      case 'zero':
        lastEventId = '0';
        break;
      case 'behind':
        lastEventId = pick(this.model.identified(user), operation.pick)?.id ?? '0';
        break;
      case 'current':
        lastEventId = positions?.[0] ?? this.model.newestKnownId(user) ?? '0';
        break;
      case 'ahead':
        lastEventId = AHEAD;
        break;
      case 'foreign':
        lastEventId = this.target(user, operation.pick, true)?.id ?? '0';
        break;
    }
    const replay: Expected<Row> = { required: [], optional: [] };
    if (lastEventId !== undefined) {
      for (const row of this.model.identified(user)) {
        if (compareIds(row.id!, lastEventId) <= 0) continue;
        const visible = visibleAt(row, at);
        if (visible) replay.required.push(row);
        else if (visible === undefined) replay.optional.push(row);
      }
    }
    let resync: Opening['resync'] = 'no';
    if (replay.required.length > REPLAY_LIMIT) resync = 'replay-limit';
    else if (replay.required.length + replay.optional.length > REPLAY_LIMIT) resync = 'maybe';
    else if (lastEventId !== undefined && replay.required.length === 0) {
      // Ahead of storage: beyond every position, at no row, and nothing to replay.
      const reached = this.model.reached(user, lastEventId, at);
      const beyond = positions?.every((position) => compareIds(lastEventId, position) > 0);
      if (reached === false && beyond && replay.optional.length === 0) resync = 'ahead-of-storage';
      else if (reached !== true && beyond !== false) resync = 'maybe';
    }
    const ids =
      resync === 'no'
        ? lastEventId === undefined
          ? positions
          : [lastEventId]
        : resync === 'maybe'
          ? positions && [...positions, lastEventId!]
          : positions;
    const count = this.model.unread(user, at);
    this.streamTabs += 1;
    const tab = new Tab(user, `tab ${this.streamTabs}`);
    this.tabs.push(tab);
    await tab.connect(this.world, instance, lastEventId, {
      ids,
      positions,
      count: { min: count.required.length, max: count.required.length + count.optional.length },
      resync,
    });
    this.model.touch(user);
    if (resync === 'no') {
      tab.expected.push(...replay.required.map((row) => ({ row, optional: false })));
    }
    if (resync !== 'replay-limit' && resync !== 'ahead-of-storage') {
      const optional =
        resync === 'maybe' ? [...replay.required, ...replay.optional] : replay.optional;
      tab.expected.push(...optional.map((row) => ({ row, optional: true })));
    }
    this.model.countChangedAt.set(
      userKey(user),
      Math.max(this.model.countChangedAt.get(userKey(user)) ?? 0, at),
    );
    this.note(
      `  ${tab.name} on instance ${instance.index}, Last-Event-ID ${lastEventId ?? 'none'}, resync ${resync}, replay ${replay.required.length}+${replay.optional.length}`,
    );
  }

  private async close(index: number): Promise<void> {
    const open = this.tabs.filter((tab) => !tab.closed);
    const tab = pick(open, index);
    if (!tab) return this.note('  (no tab open)');
    await this.checkTabs([tab]);
    tab.close();
    this.note(`  closed ${tab.name}`);
  }

  /** Waits until the tabs got what they should have, then checks them. */
  private async checkTabs(tabs: Tab[]): Promise<void> {
    const deadline = Date.now() + SETTLE_MS;
    for (const tab of tabs) {
      const counts = this.countsFor(tab);
      const range = {
        min: Math.min(...counts.map((count) => count.required.length)),
        max: Math.max(...counts.map((count) => count.required.length + count.optional.length)),
      };
      await tab.settle(deadline, tab.closed ? undefined : range);
      checkTab(tab, this.model, {
        counts,
        orderByOp: this.mode === 'single',
      });
    }
  }

  /**
   * The unread counts a tab's last event may show: the model's now; unless strict, also the one
   * before an expiry that came after the tab's last change: Herald announces an expiry by
   * reading the count again within about a second, which may not have happened when it looks.
   */
  private countsFor(tab: Tab): Expected<Row>[] {
    const now = Date.now();
    const counts = [this.model.unread(tab.user, now)];
    const since = Math.max(
      this.model.countChangedAt.get(userKey(tab.user)) ?? 0,
      tab.current.openedAt,
    );
    const expiredAfter = (at: number) =>
      this.model
        .rowsOf(tab.user)
        .filter(
          (row) =>
            !row.read &&
            !row.archived &&
            !row.deleted &&
            row.expiresAt !== null &&
            row.expiresAt > at - 1000 &&
            row.expiresAt <= now,
        );
    if (expiredAfter(since).length > 0 && !this.options.strictExpiryCounts) {
      counts.push(this.model.unread(tab.user, since));
    }
    return counts;
  }

  // --- faults --------------------------------------------------------------------------------

  private async kill(operation: Extract<Operation, { kind: 'kill' }>): Promise<void> {
    const live = this.live();
    const victim = live[operation.instance % live.length];
    const messages = operation.messages.map((spec) => messageOf(this.model, spec));
    const onVictim = () => this.tabs.filter((tab) => !tab.closed && tab.instance === victim);
    await this.store(messages, {
      after: operation.after,
      act: async () => {
        const tabs = onVictim();
        await this.world.kill(victim);
        await Promise.all(tabs.map((tab) => tab.current.client.whenEnded()));
        this.note(`  killed instance ${victim.index} (${tabs.length} tabs on it)`);
        await this.world.restart(victim);
        const target = this.mode === 'pair' ? this.live().find((each) => each !== victim)! : victim;
        await Promise.all(tabs.map((tab) => tab.reconnect(this.world, target)));
        return [];
      },
    });
    await this.settleAll();
  }

  private async brokerDrop(operation: Extract<Operation, { kind: 'broker-drop' }>): Promise<void> {
    const [instance] = this.live();
    const before = operation.before.map((spec) => messageOf(this.model, spec));
    const meanwhile = operation.during.map((spec) => messageOf(this.model, spec));
    const ready = async () =>
      (await this.world.request(ADMIN, 'GET', '/health/ready', {}, instance)).status;
    const started = Date.now();
    await this.store(before, {
      after: operation.after,
      meanwhile,
      act: async () => {
        instance.proxy.block();
        await eventually(async () => assert((await ready()) === 503, 'still ready'), {
          timeoutMs: 15_000,
        });
        const replies = await this.producer.publish(meanwhile.map(outgoing));
        instance.proxy.unblock();
        await eventually(async () => assert((await ready()) === 200, 'not ready'), {
          timeoutMs: FAULT_MS,
          intervalMs: 100,
        });
        return replies;
      },
    });
    await this.settleAll();
    this.note(`  RabbitMQ connection cut and back in ${Date.now() - started} ms`);
  }

  /** After a fault: every open tab caught up before the next operation. */
  private async settleAll(): Promise<void> {
    const deadline = Date.now() + FAULT_MS;
    for (const tab of this.tabs.filter((each) => !each.closed)) {
      // Not caught up: the full check of the tab says what is missing.
      if (!(await tab.settle(deadline))) await this.checkTabs([tab]);
    }
  }

  // --- the end -------------------------------------------------------------------------------

  /**
   * Everything against the model: each user's inbox in every status (all pages), the unread
   * counts, every tab; then, with the Heralds stopped, storage itself: no (user, key) twice, the
   * generated users' rows, nothing dead-lettered.
   */
  async finish(): Promise<void> {
    this.note('final check');
    // Every group runs, so that a stream's failure comes with what storage says.
    const failures: string[] = [];
    const group = async (work: () => Promise<void>) => {
      try {
        await work();
      } catch (error) {
        failures.push((error as Error).message);
      }
    };
    await group(() => this.checkTabs(this.tabs.filter((tab) => !tab.closed)));
    await group(async () => {
      for (const user of [...POOL, ADMIN]) await this.checkInbox(user);
    });
    // The REST reads made every pool user known; their streams stay as they were.
    await group(async () => same('dead letters', await this.world.deadLetters(), 0));
    for (const tab of this.tabs) if (!tab.closed) tab.close();
    await this.world.stop();
    await group(() => this.checkStorage());
    if (failures.length > 0) throw new Error(failures.join('\n  and '));
  }

  /** Straight from the tables: no (user, key) twice, every row of the model, nothing else. */
  private async checkStorage(): Promise<void> {
    const stored = await this.world.stored();
    if (stored.doubled.length > 0) fail('rows stored twice for one (user, key)', stored.doubled);
    same(
      'rows of generated users',
      { rows: stored.wideRows, users: stored.wideUsers },
      { rows: this.model.wideRows, users: this.model.wideRows },
    );
    const poolRows = [...this.model.rows.values()].reduce((sum, rows) => sum + rows.length, 0);
    const purged = Date.now() - this.model.startedAt > 55_000;
    const rows = stored.rows - stored.wideRows;
    if (purged ? rows > poolRows : rows !== poolRows) {
      fail('rows of the pool in storage', { stored: rows, model: poolRows });
    }
  }

  private async checkInbox(user: User): Promise<void> {
    for (const status of ['unread', 'read', 'all', 'archived', undefined] as const) {
      const at = Date.now();
      const items: any[] = [];
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ limit: '7' });
        if (status) query.set('status', status);
        if (cursor) query.set('cursor', cursor);
        const answer = await this.world.request(
          user,
          'GET',
          `/api/v1/notifications?${query.toString()}`,
        );
        expectStatus(answer, 200, 'list');
        items.push(...answer.body.items);
        cursor = answer.body.nextCursor;
      } while (cursor);
      const expected = this.model.list(user, status ?? 'all', at);
      const where = `${userKey(user)} inbox status=${status ?? '(default)'}`;
      matchExpected(
        where,
        items.map((item) => item.id),
        expected,
        true,
      );
      for (const item of items) {
        this.checkItem(
          item,
          this.model.identified(user).find((row) => row.id === item.id)!,
          where,
        );
      }
    }
    const expected = this.model.unread(user, Date.now());
    const answer = await this.world.request(user, 'GET', '/api/v1/notifications/unread-count');
    expectStatus(answer, 200, 'unread-count');
    expectCount(user, answer.body.count, expected);
  }

  private checkItem(item: any, row: Row, where: string): void {
    const got = {
      id: item.id,
      userId: item.userId,
      tenantId: item.tenantId,
      type: item.type,
      title: item.title,
      priority: item.priority,
      topic: item.topic,
      data: item.data,
      expiresAt: item.expiresAt,
      read: item.readAt !== null,
      archived: item.archivedAt !== null,
    };
    const wanted = {
      id: row.id,
      userId: row.user.id,
      tenantId: row.user.tenant,
      type: row.type,
      title: row.title,
      priority: row.priority,
      topic: row.topic,
      data: { k: row.k },
      expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
      read: row.uncertain ? got.read : row.read,
      archived: row.archived,
    };
    same(`${where}: notification ${row.id}`, got, wanted);
  }
}

/** `received` (newest first when `descending`) holds every required id, only expected ones, in order. */
function matchExpected(
  where: string,
  received: string[],
  expected: Expected<Row>,
  descending: boolean,
): void {
  const required = expected.required.map((row) => row.id!);
  const allowed = new Set([...required, ...expected.optional.map((row) => row.id!)]);
  const unexpected = received.filter((id) => !allowed.has(id));
  const missing = required.filter((id) => !received.includes(id));
  const order = received.every(
    (id, i) => i === 0 || compareIds(received[i - 1], id) * (descending ? 1 : -1) > 0,
  );
  if (unexpected.length > 0 || missing.length > 0 || !order) {
    fail(where, {
      received,
      required,
      optional: expected.optional.map((row) => row.id),
      unexpected,
      missing,
      order,
    });
  }
}

function expectCount(user: User, count: number, expected: Expected<Row>): void {
  const min = expected.required.length;
  const max = min + expected.optional.length;
  if (!(count >= min && count <= max))
    fail(`${userKey(user)}: unread count`, { got: count, min, max });
}

function describeMessage(message: Message): string {
  const to = [
    ...message.userIds.slice(0, 4),
    ...(message.userIds.length > 4 ? [`+${message.userIds.length - 4}`] : []),
    ...message.topics.map((topic) => `topic:${topic}`),
    ...(message.broadcast ? ['everyone'] : []),
  ];
  const key = message.key?.replace(/.*-key-/, 'key') ?? 'no key';
  return `#${message.seq} ${key}→${message.tenant ?? ''}/${to.join(',')}`;
}

function describe(row: Row) {
  const { id, k, title, read, archived, deleted, expiresAt } = row;
  return {
    id,
    k,
    title,
    read,
    archived,
    deleted,
    expiresAt: expiresAt && new Date(expiresAt).toISOString(),
  };
}

function expectStatus(
  answer: { status: number; body: unknown },
  status: number,
  what: string,
): void {
  if (answer.status !== status) fail(`${what} answered ${answer.status}`, answer.body);
}

function same(what: string, got: unknown, wanted: unknown): void {
  if (JSON.stringify(got) !== JSON.stringify(wanted)) fail(what, { got, wanted });
}

function assert(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(what);
}

function fail(what: string, detail: unknown): never {
  throw new Error(`${what}: ${JSON.stringify(detail)}`);
}
