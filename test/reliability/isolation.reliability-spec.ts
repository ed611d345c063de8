import { Client } from 'pg';
import { amqpTopology } from '../../src/messaging/amqp-topology';
import { TestBroker } from '../support/amqp';
import { eventually } from '../support/eventually';
import { RunningHerald, startHerald } from '../support/herald';
import { api } from '../support/http';
import { storeNotifications } from '../support/notifications';
import { SseClient, SseEvent, TestStreams } from '../support/sse';
import { unsignedToken, userToken } from '../support/tokens';
import { seeded } from './bad-messages';
import { LoadRig, openLoadRig } from './faults';
import { recordFigures } from './figures';

/*
 * Isolation under load (issue 10): 1,000 users with a stream each, the same user ids in tenants
 * t1, t2 and in none, random traffic through RabbitMQ (named users, topics, broadcasts, live
 * events) and random inbox changes over REST. Nobody may see anybody else's notification, and
 * nobody may change one.
 */

const MEMBERS = 1000;
const TENANTS = ['t1', 't2', null] as const;
const DIRECT_MESSAGES = 2000;
const TOPIC_MESSAGES_PER_TENANT = 3;
const LIVE_EVENTS = 60;
const OWNER_ACTIONS = 600;
const CROSS_ATTEMPTS = 200;
const SAMPLED_LISTS = 50;
const TOPIC = 'news';
const SEED = 0x150_1a7e;

interface Member {
  userId: string;
  tenantId: string | null;
  key: string;
  token: string;
  stream: SseClient;
  subscribed: boolean;
}

interface Row {
  id: string;
  tenant_id: string;
  user_id: string;
  read_at: Date | null;
  archived_at: Date | null;
  deleted_at: Date | null;
}

const keyOf = (tenantId: string | null, userId: string) => `${tenantId ?? ''}/${userId}`;

/** Runs `work` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, work: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await work(items[next++]);
    }),
  );
}

describe('isolation under load', () => {
  let herald: RunningHerald;
  let broker: TestBroker;
  let database: Client;
  let rig: LoadRig;
  const streams = new TestStreams();
  const members: Member[] = [];
  const rng = seeded(SEED);

  const rowsNow = async () => {
    const { rows } = await database.query<Row>(
      `SELECT id::text, tenant_id, user_id, read_at, archived_at, deleted_at
       FROM "${herald.config.database.schema}".notifications`,
    );
    return rows;
  };

  beforeAll(async () => {
    rig = await openLoadRig();
    ({ herald, broker, database } = rig);
  });

  afterAll(async () => {
    streams.closeAll();
    await rig?.close();
  });

  it('delivers to 1,000 users in three tenants nothing but their own notifications', async () => {
    const started = Date.now();
    // The same user ids in t1, t2 and without tenant: u7 of t1 is not u7 of t2.
    const identities = Array.from({ length: MEMBERS }, (_, i) => ({
      userId: `u${Math.floor(i / TENANTS.length)}`,
      tenantId: TENANTS[i % TENANTS.length],
      subscribed: rng.next() < 0.25,
      index: i,
    }));
    await inParallel(identities, 25, async (identity) => {
      const token = await userToken(identity.userId, { tenant: identity.tenantId ?? undefined });
      if (identity.subscribed) {
        const subscribed = await api(herald, 'PUT', `/api/v1/topics/${TOPIC}`, { token });
        expect(subscribed.status).toBe(204);
      }
      const stream = await streams.live(herald, { token });
      // By index, not by arrival: the same members get the same traffic in every run.
      members[identity.index] = {
        userId: identity.userId,
        tenantId: identity.tenantId,
        subscribed: identity.subscribed,
        key: keyOf(identity.tenantId, identity.userId),
        token,
        stream,
      };
    });
    const opened = Date.now();
    expect(members.filter(Boolean)).toHaveLength(MEMBERS);
    const byTenant = (tenantId: string | null) => members.filter((m) => m.tenantId === tenantId);

    // Traffic: named users of one tenant, topics and broadcasts per tenant, live events.
    const messages: { routingKey: string; body: Record<string, unknown> }[] = [];
    let expectedRows = 0;
    for (let n = 0; n < DIRECT_MESSAGES; n += 1) {
      const tenantId = rng.pick(TENANTS);
      const candidates = byTenant(tenantId);
      const to = [...new Set(Array.from({ length: 1 + rng.int(3) }, () => rng.pick(candidates)))];
      expectedRows += to.length;
      messages.push({
        routingKey: 'notification.iso.direct',
        body: {
          id: `direct-${n}`,
          recipients: { userIds: to.map((m) => m.userId) },
          ...(tenantId && { tenantId }),
          title: `Direct ${n}`,
          data: { to: to.map((m) => m.key) },
        },
      });
    }
    for (const tenantId of TENANTS) {
      for (let n = 0; n < TOPIC_MESSAGES_PER_TENANT; n += 1) {
        expectedRows += byTenant(tenantId).filter((m) => m.subscribed).length;
        messages.push({
          routingKey: 'notification.iso.topic',
          body: {
            id: `topic-${tenantId}-${n}`,
            recipients: { topics: [TOPIC] },
            ...(tenantId && { tenantId }),
            title: `Topic ${n} of ${tenantId}`,
            data: { tenant: tenantId },
          },
        });
      }
      expectedRows += byTenant(tenantId).length;
      messages.push({
        routingKey: 'notification.iso.broadcast',
        body: {
          id: `broadcast-${tenantId}`,
          recipients: { broadcast: true },
          ...(tenantId && { tenantId }),
          title: `Everyone of ${tenantId}`,
          data: { tenant: tenantId },
        },
      });
    }
    let liveSent = 0;
    for (let n = 0; n < LIVE_EVENTS; n += 1) {
      const tenantId = rng.pick(TENANTS);
      const to = [...new Set([rng.pick(byTenant(tenantId)), rng.pick(byTenant(tenantId))])];
      liveSent += to.length;
      messages.push({
        routingKey: 'event.iso.tick',
        body: {
          recipients: { userIds: to.map((m) => m.userId) },
          ...(tenantId && { tenantId }),
          data: { to: to.map((m) => m.key) },
        },
      });
    }
    // Shuffled, so that every kind of message overlaps every other.
    for (let i = messages.length - 1; i > 0; i -= 1) {
      const j = rng.int(i + 1);
      [messages[i], messages[j]] = [messages[j], messages[i]];
    }

    const { exchange } = amqpTopology(herald.config.amqp);
    const publishing = (async () => {
      for (const [index, message] of messages.entries()) {
        broker.channel.publish(
          exchange,
          message.routingKey,
          Buffer.from(JSON.stringify(message.body)),
          {
            contentType: 'application/json',
            persistent: true,
          },
        );
        if (index % 200 === 199) await broker.channel.waitForConfirms();
      }
      await broker.channel.waitForConfirms();
    })();

    // Meanwhile owners change their own notifications, and others try to change them too.
    const received = (member: Member) =>
      member.stream.events.filter((e) => e.event === 'notification').map((e) => e.id!);
    const acted = {
      read: new Set<string>(),
      archived: new Set<string>(),
      deleted: new Set<string>(),
    };
    const attempted = new Set<string>();
    let ownerActions = 0;
    let crossAttempts = 0;
    const crossAnswers: Record<string, number> = {};
    const changes = (async () => {
      for (let n = 0; n < OWNER_ACTIONS + CROSS_ATTEMPTS;) {
        const candidates = members.filter((m) => received(m).some((id) => !attempted.has(id)));
        if (candidates.length === 0) {
          // Nothing (new) delivered yet: wait for the next notification of someone, briefly.
          await rng
            .pick(members)
            .stream.nextOf('notification', 1000)
            .catch(() => undefined);
          continue;
        }
        const member = rng.pick(candidates);
        const ids = received(member).filter((id) => !attempted.has(id));
        const id = rng.pick(ids);
        if (n < OWNER_ACTIONS) {
          attempted.add(id);
          const action = rng.pick(['read', 'archived', 'deleted'] as const);
          const answer =
            action === 'deleted'
              ? await api(herald, 'DELETE', `/api/v1/notifications/${id}`, { token: member.token })
              : await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
                  token: member.token,
                  body: { [action === 'read' ? 'read' : 'archived']: true },
                });
          expect(answer.status).toBe(action === 'deleted' ? 204 : 200);
          acted[action].add(id);
          ownerActions += 1;
        } else {
          // Half the time the same user id in another tenant: the likeliest mix-up.
          const twins = members.filter((m) => m.userId === member.userId && m !== member);
          const others = members.filter((m) => m.key !== member.key);
          const intruder = rng.pick(rng.next() < 0.5 && twins.length > 0 ? twins : others);
          const answer =
            rng.next() < 0.5
              ? await api(herald, 'DELETE', `/api/v1/notifications/${id}`, {
                  token: intruder.token,
                })
              : await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
                  token: intruder.token,
                  body: { read: true, archived: true },
                });
          crossAnswers[answer.status] = (crossAnswers[answer.status] ?? 0) + 1;
          crossAttempts += 1;
        }
        n += 1;
      }
    })();
    await Promise.all([publishing, changes]);
    const published = Date.now();

    // Everything stored, and every stream caught up with its user's notifications and changes.
    await eventually(async () => expect((await rowsNow()).length).toBe(expectedRows), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
    const rows = await rowsNow();
    const owner = new Map(rows.map((row) => [row.id, keyOf(row.tenant_id || null, row.user_id)]));
    const rowsOf = new Map<string, Row[]>();
    for (const row of rows) {
      const key = keyOf(row.tenant_id || null, row.user_id);
      rowsOf.set(key, [...(rowsOf.get(key) ?? []), row]);
    }
    const changedIds = new Set([...acted.read, ...acted.archived, ...acted.deleted]);
    await eventually(
      () => {
        for (const member of members) {
          const frames = member.stream.events;
          const own = rowsOf.get(member.key) ?? [];
          expect(frames.filter((e) => e.event === 'notification').length).toBeGreaterThanOrEqual(
            own.length,
          );
          const updates = own.filter((row) => changedIds.has(row.id)).length;
          expect(
            frames.filter((e) => e.event === 'notification.updated').length,
          ).toBeGreaterThanOrEqual(updates);
        }
        const live = members.flatMap((m) => m.stream.events.filter((e) => e.event === 'live'));
        expect(live.length).toBeGreaterThanOrEqual(liveSent);
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const delivered = Date.now();

    // Zero cross-user frames, and every stream got exactly its user's notifications.
    const crossUser: string[] = [];
    let framesChecked = 0;
    let liveReceived = 0;
    const incomplete: string[] = [];
    const check = (member: Member, event: SseEvent, problem: boolean) => {
      framesChecked += 1;
      if (problem) crossUser.push(`${member.key} got ${event.event} ${JSON.stringify(event.data)}`);
    };
    for (const member of members) {
      for (const event of member.stream.events) {
        if (event.event === 'notification') {
          check(
            member,
            event,
            event.data.userId !== member.userId ||
              event.data.tenantId !== member.tenantId ||
              owner.get(event.data.id) !== member.key ||
              event.id !== event.data.id,
          );
        } else if (event.event === 'notification.updated') {
          check(member, event, owner.get(event.data.id) !== member.key);
        } else if (event.event === 'live') {
          liveReceived += 1;
          check(member, event, !event.data.data.to.includes(member.key));
        }
      }
      const got = received(member).sort();
      const own = (rowsOf.get(member.key) ?? []).map((row) => row.id).sort();
      if (JSON.stringify(got) !== JSON.stringify(own)) {
        incomplete.push(`${member.key}: got ${got.length}, owns ${own.length}`);
      }
    }

    // The intruders changed nothing: every change in storage is one its owner made.
    const stray = rows.filter(
      (row) =>
        (row.read_at !== null && !acted.read.has(row.id)) ||
        (row.archived_at !== null && !acted.archived.has(row.id)) ||
        (row.deleted_at !== null && !acted.deleted.has(row.id)),
    );

    // The REST lists of sampled users hold their notifications and nobody else's.
    const listProblems: string[] = [];
    let listed = 0;
    for (const member of Array.from({ length: SAMPLED_LISTS }, () => rng.pick(members))) {
      const items: any[] = [];
      for (const status of ['all', 'archived']) {
        let cursor: string | null = null;
        do {
          const query: string = `?status=${status}&limit=100${cursor ? `&cursor=${cursor}` : ''}`;
          const page = await api(herald, 'GET', `/api/v1/notifications${query}`, {
            token: member.token,
          });
          expect(page.status).toBe(200);
          items.push(...page.body.items);
          cursor = page.body.nextCursor;
        } while (cursor);
      }
      listed += items.length;
      const foreign = items.filter(
        (item) =>
          item.userId !== member.userId ||
          item.tenantId !== member.tenantId ||
          owner.get(item.id) !== member.key,
      );
      const visible = (rowsOf.get(member.key) ?? []).filter((row) => row.deleted_at === null);
      if (foreign.length > 0 || items.length !== visible.length) {
        listProblems.push(
          `${member.key}: ${foreign.length} foreign, ${items.length}/${visible.length}`,
        );
      }
    }

    recordFigures('isolation', {
      users: MEMBERS,
      tenants: ['t1', 't2', 'none'],
      streams: members.length,
      messages: messages.length,
      stored: rows.length,
      liveSent,
      liveReceived,
      ownerActions,
      crossAttempts,
      crossAnswers,
      strayChanges: stray.length,
      framesChecked,
      crossUser: crossUser.length,
      incompleteStreams: incomplete.length,
      listsSampled: SAMPLED_LISTS,
      listedItems: listed,
      listProblems: listProblems.length,
      openMs: opened - started,
      trafficMs: published - opened,
      deliveredMs: delivered - published,
      totalMs: Date.now() - started,
    });
    expect(crossUser).toEqual([]);
    expect(incomplete).toEqual([]);
    expect(liveReceived).toBe(liveSent);
    expect(crossAnswers).toEqual({ 404: CROSS_ATTEMPTS });
    expect(stray).toEqual([]);
    expect(listProblems).toEqual([]);
    expect(framesChecked).toBeGreaterThan(expectedRows);
  });

  it('refuses forged, expired, unsigned and foreign tokens, and spent or misused tickets', async () => {
    const inbox = '/api/v1/notifications';
    const status = async (token: string) => (await api(herald, 'GET', inbox, { token })).status;
    const streamStatus = async (options: Parameters<typeof SseClient.open>[1]) => {
      const stream = streams.track(await SseClient.open(herald, options));
      return stream.status;
    };
    const forged = await userToken('u1', { secret: 'another-secret-another-secret-another' });
    const expired = await userToken('u1', { expiresIn: -45 }); // past the 30 s of clock skew
    const skewed = await userToken('u1', { expiresIn: -10 });
    for (const token of [forged, expired, unsignedToken('u1'), `${skewed}x`]) {
      expect(await status(token)).toBe(401);
      expect(await streamStatus({ token })).toBe(401);
    }
    expect(await status(skewed)).toBe(200);

    // The same user id in another tenant is another user: t2's notification is not found for t1.
    const [theirId] = await storeNotifications(herald, { userIds: ['twin'], tenantId: 't2' });
    const theirs = (await rowsNow()).find((row) => row.id === theirId)!;
    const sameIdInT1 = await userToken(theirs.user_id, { tenant: 't1' });
    const noTenant = await userToken(theirs.user_id);
    for (const token of [sameIdInT1, noTenant]) {
      const patch = await api(herald, 'PATCH', `${inbox}/${theirs.id}`, {
        token,
        body: { read: true },
      });
      expect(patch).toMatchObject({ status: 404, body: { statusCode: 404 } });
      expect((await api(herald, 'DELETE', `${inbox}/${theirs.id}`, { token })).status).toBe(404);
      const list = await api(herald, 'GET', `${inbox}?limit=100`, { token });
      expect(list.body.items.map((item: { id: string }) => item.id)).not.toContain(theirs.id);
    }
    const after = (await rowsNow()).find((row) => row.id === theirs.id)!;
    expect(after).toEqual(theirs);

    // Tickets: single use, and only on the stream.
    const ticketOf = async () =>
      (await api(herald, 'POST', '/api/v1/stream/tickets', { token: await userToken('u1') })).body
        .ticket as string;
    const ticket = await ticketOf();
    expect(await streamStatus({ query: `?ticket=${ticket}` })).toBe(200);
    expect(await streamStatus({ query: `?ticket=${ticket}` })).toBe(401);
    const elsewhere = await ticketOf();
    expect((await api(herald, 'GET', `${inbox}?ticket=${elsewhere}`)).status).toBe(401);
    expect((await api(herald, 'GET', `${inbox}/unread-count?ticket=${elsewhere}`)).status).toBe(
      401,
    );

    // Issuer and audience, when configured, are checked.
    const strict = await startHerald({
      storage: 'postgres',
      env: { AUTH_JWT_ISSUER: 'https://id.example', AUTH_JWT_AUDIENCE: 'herald' },
    });
    try {
      const answers: number[] = [];
      for (const claims of [
        { issuer: 'https://id.example', audience: 'herald' },
        { issuer: 'https://evil.example', audience: 'herald' },
        { issuer: 'https://id.example', audience: 'another-app' },
        { issuer: 'https://id.example' },
        { audience: 'herald' },
      ]) {
        const token = await userToken('u1', claims);
        answers.push((await api(strict, 'GET', inbox, { token })).status);
      }
      expect(answers).toEqual([200, 401, 401, 401, 401]);
    } finally {
      await strict.close();
    }
  });

  // UTF-8, and so PostgreSQL, turns a lone surrogate into U+FFFD, which is a user id of its own.
  it('does not let a sub that is not well-formed Unicode read another user’s inbox', async () => {
    const inbox = '/api/v1/notifications';
    const [replaced] = await storeNotifications(herald, { userIds: ['\ufffd'] });
    for (const sub of ['\ud800', '\udfff']) {
      const token = await userToken(sub);
      const list = await api(herald, 'GET', `${inbox}?limit=100`, { token });
      const seen = list.status === 200 ? list.body.items.map((item: any) => item.id) : [];
      const patch = await api(herald, 'PATCH', `${inbox}/${replaced}`, {
        token,
        body: { read: true },
      });
      // Refused (401), or a user of its own who finds nothing (404).
      const refused = list.status === 401;
      expect({ sub: JSON.stringify(sub), seen, patch: patch.status }).toEqual({
        sub: JSON.stringify(sub),
        seen: refused ? [] : expect.not.arrayContaining([replaced]),
        patch: refused ? 401 : 404,
      });
    }
  });
});
