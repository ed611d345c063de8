import { sql } from 'drizzle-orm';
import { Client } from 'pg';
import { validateInput } from '../src/common/validation';
import { Database } from '../src/database/database';
import { CreateNotificationCommand } from '../src/notifications/intake/create-notification.command';
import { Intake, KeyedCommand } from '../src/notifications/intake/intake';
import { compareIds } from '../src/notifications/notification';
import { SnoozeAlarm } from '../src/notifications/inbox/snooze-alarm';
import { loadConfig } from '../src/config/herald-config';
import { deleteTopology, TestBroker } from './support/amqp';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { storeNotifications } from './support/notifications';
import { TestStreams } from './support/sse';
import { createTestStorage, STORAGE_KINDS, TestStorage, uniqueName } from './support/storage';
import { userToken } from './support/tokens';

/** CONTRACT.md v1.1: links and actions, seen apart from read, snooze, bulk changes, categories. */
describe.each(STORAGE_KINDS)('inbox v1.1 on %s', (storage) => {
  let herald: RunningHerald;
  let broker: TestBroker;
  const streams = new TestStreams();
  let user = 0;
  /** A user of the test's own, and their token. */
  const someone = async () => {
    user += 1;
    const id = `v2-${user}`;
    return { id, token: await userToken(id) };
  };
  const list = async (token: string, query = '') =>
    (await api(herald, 'GET', `/api/v1/notifications${query}`, { token })).body.items as {
      id: string;
      [field: string]: unknown;
    }[];
  const ids = async (token: string, query = '') => (await list(token, query)).map((it) => it.id);
  const counts = async (token: string) =>
    (await api(herald, 'GET', '/api/v1/notifications/unread-count', { token })).body;

  beforeAll(async () => {
    herald = await startHerald({ storage });
    broker = await TestBroker.connect();
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('stores a link, actions and a category, and shows every v1.1 field', async () => {
    const { id: userId, token } = await someone();
    const actions = [
      { id: 'track', label: 'Track parcel', url: '/orders/1/tracking' },
      { id: 'dismiss', label: 'Dismiss' },
    ];
    const stream = await streams.live(herald, { token });
    const [id] = await storeNotifications(herald, {
      userIds: [userId],
      url: 'https://shop.example.com/orders/1',
      actions,
      category: 'orders',
    });
    const expected = {
      id,
      userId,
      tenantId: null,
      type: 'test.note',
      title: expect.any(String),
      body: null,
      data: {},
      priority: 'normal',
      topic: null,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      readAt: null,
      archivedAt: null,
      expiresAt: null,
      url: 'https://shop.example.com/orders/1',
      actions,
      category: 'orders',
      seenAt: null,
      interactedAt: null,
      interaction: null,
      snoozedUntil: null,
      collapseKey: null,
      groupKey: null,
      groupCount: 1,
      actors: [],
      locale: null,
    };
    expect((await stream.nextOf('notification')).data).toEqual(expected);
    expect(await list(token)).toEqual([expected]);
    const replay = await streams.live(herald, { token, lastEventId: '0' });
    expect(replay.events.find((event) => event.event === 'notification')?.data).toEqual(expected);
  });

  it('takes every v1.1 field over RabbitMQ, and replaces and groups what comes that way', async () => {
    const { id: userId, token } = await someone();
    const tab = await streams.live(herald, { token });
    const publish = (id: string, fields: object) =>
      broker.publish(herald, 'notification.build', {
        id,
        recipients: { userIds: [userId] },
        type: 'build.status',
        title: id,
        url: '/builds/7',
        actions: [{ id: 'open', label: 'Open', url: 'https://ci.example.com/7' }],
        category: 'ci',
        ...fields,
      });
    await publish('build-7-running', { collapseKey: 'build-7' });
    const running = await tab.nextOf('notification');
    expect(running.data).toMatchObject({
      title: 'build-7-running',
      url: '/builds/7',
      actions: [{ id: 'open', label: 'Open', url: 'https://ci.example.com/7' }],
      category: 'ci',
      collapseKey: 'build-7',
    });
    await publish('build-7-passed', { collapseKey: 'build-7' });
    expect((await tab.nextOf('notification.updated')).data).toMatchObject({
      id: running.data.id,
      deleted: true,
    });
    const passed = await tab.nextOf('notification');
    expect(passed.data.title).toBe('build-7-passed');
    for (const [n, actor] of ['Ada', 'Bob'].entries()) {
      await publish(`review-${n}`, { group: { key: 'reviews', actor } });
    }
    const grouped = await tab.next(
      (event) => event.event === 'notification' && event.data.groupCount === 2,
    );
    expect(grouped.data).toMatchObject({ groupKey: 'reviews', actors: ['Bob', 'Ada'] });
    expect(await ids(token)).toEqual([grouped.data.id, passed.data.id]);
  });

  it('refuses bad links, actions and categories over HTTP, naming the field', async () => {
    const admin = await userToken('v2-admin', { roles: ['admin'] });
    const send = (fields: object) =>
      api(herald, 'POST', '/api/v1/admin/notifications', {
        token: admin,
        body: { recipients: { userIds: ['v2-bad'] }, type: 't', title: 'T', ...fields },
      });
    const cases: [object, RegExp][] = [
      [{ url: 'javascript:alert(1)' }, /^url must be an https:\/\/ or http:\/\/ URL/],
      [{ url: '//evil.example.com' }, /^url must be/],
      [{ url: '/\\evil.example.com' }, /^url must be/],
      [{ url: `/${'x'.repeat(2048)}` }, /^url must be shorter than or equal to 2048/],
      [{ category: 'Social' }, /^category must be 1-64 of/],
      [
        {
          actions: [
            { id: 'a', label: 'A' },
            { id: 'a', label: 'B' },
          ],
        },
        /^actions must have distinct ids/,
      ],
      [
        { actions: [1, 2, 3, 4].map((n) => ({ id: `a${n}`, label: 'A' })) },
        /^actions must contain no more than 3/,
      ],
      [{ actions: [{ id: 'Bad Id', label: 'A' }] }, /^actions\.id must be 1-32 of/],
      [{ actions: [{ id: 'a', label: ' ' }] }, /^actions\.label must not be blank/],
      [{ actions: [{ id: 'a', label: 'A', url: 'ftp://x' }] }, /^actions\.url must be/],
      [{ actions: ['a'] }, /^actions must hold objects/],
      [{ collapseKey: 'k', group: { key: 'k' } }, /^collapseKey and group cannot both be set/],
      [{ collapseKey: 'x'.repeat(129) }, /^collapseKey must be shorter than or equal to 128/],
      [{ group: {} }, /^group\.key must be a string/],
      [{ group: { key: 'k', windowSeconds: 0 } }, /^group\.windowSeconds must not be less than 1/],
      [{ group: { key: 'k', windowSeconds: 86_401 } }, /^group\.windowSeconds must not be greater/],
      [
        { group: { key: 'k', actor: 'a\nb' } },
        /^group\.actor must not be empty or contain control/,
      ],
      [{ group: 'k' }, /^group must be an object/],
    ];
    for (const [fields, message] of cases) {
      const response = await send(fields);
      expect([JSON.stringify(fields), response.status]).toEqual([JSON.stringify(fields), 400]);
      expect([response.body.message].flat().join('; ')).toMatch(message);
    }
  });

  it('dead-letters a message with a bad v1.1 field, naming it', async () => {
    const dead = broker.takeDeadLetters(herald, ['bad-url', 'bad-actions', 'bad-category']);
    const message = { recipients: { userIds: ['v2-dead'] }, type: 't', title: 'T' };
    await broker.publish(
      herald,
      'notification.t',
      { ...message, url: 'data:x' },
      {
        messageId: 'bad-url',
      },
    );
    await broker.publish(
      herald,
      'notification.t',
      { ...message, actions: {} },
      {
        messageId: 'bad-actions',
      },
    );
    await broker.publish(
      herald,
      'notification.t',
      { ...message, category: '' },
      {
        messageId: 'bad-category',
      },
    );
    const reasons = Object.fromEntries(
      (await dead).map((letter) => [
        letter.properties.messageId,
        letter.properties.headers?.['x-herald-error'],
      ]),
    );
    expect(reasons).toEqual({
      'bad-url': expect.stringMatching(/^invalid: url must be/),
      'bad-actions': expect.stringMatching(/^invalid: actions must be an array/),
      'bad-category': expect.stringMatching(/^invalid: category must be/),
    });
  });

  it('keeps seen apart from read: the bell clears, the items stay unread', async () => {
    const { id: userId, token } = await someone();
    const [a, b, c] = await storeNotifications(herald, { userIds: [userId] }, 3);
    expect(await counts(token)).toEqual({ count: 3, unseen: 3 });
    const tab = await streams.live(herald, { token });

    const one = await api(herald, 'PATCH', `/api/v1/notifications/${a}`, {
      token,
      body: { seen: true },
    });
    expect(one.body).toMatchObject({ id: a, seenAt: expect.any(String), readAt: null });
    expect((await tab.nextOf('notification.updated')).data).toMatchObject({
      id: a,
      seenAt: one.body.seenAt,
    });
    expect((await tab.nextOf('unread-count')).data).toEqual({ count: 3, unseen: 2 });
    expect(await ids(token, '?status=unseen')).toEqual([c, b]);

    const all = await api(herald, 'POST', '/api/v1/notifications/seen', { token, body: {} });
    expect(all.body).toEqual({ updated: 2 });
    const bulk = await tab.nextOf('notification.bulk-updated');
    expect(bulk.data).toEqual({
      upTo: c,
      filter: { status: 'unseen' },
      set: { seen: true },
      at: expect.any(String),
    });
    expect((await tab.nextOf('unread-count')).data).toEqual({ count: 3, unseen: 0 });
    expect(await ids(token, '?status=unseen')).toEqual([]);
    expect(await ids(token, '?status=unread')).toEqual([c, b, a]);
    // Seen already: the first time stays, and nothing changes twice.
    expect(
      (await api(herald, 'POST', '/api/v1/notifications/seen', { token, body: { ids: [a] } })).body,
    ).toEqual({ updated: 0 });
  });

  it('records an action taken, marks it read, and tells every tab', async () => {
    const { id: userId, token } = await someone();
    const other = await someone();
    const [id] = await storeNotifications(herald, {
      userIds: [userId],
      actions: [{ id: 'approve', label: 'Approve' }],
    });
    const tab = await streams.live(herald, { token });
    const path = `/api/v1/notifications/${id}/actions/approve`;
    const taken = await api(herald, 'POST', path, { token });
    expect(taken.status).toBe(200);
    expect(taken.body).toMatchObject({
      id,
      interaction: 'approve',
      interactedAt: expect.any(String),
      readAt: expect.any(String),
    });
    expect((await tab.nextOf('notification.updated')).data).toMatchObject({
      id,
      interaction: 'approve',
      readAt: taken.body.readAt,
    });
    const unknownAction = await api(herald, 'POST', `/api/v1/notifications/${id}/actions/reject`, {
      token,
    });
    expect([unknownAction.status, unknownAction.body.message]).toEqual([
      404,
      `Notification "${id}" has no action "reject"`,
    ]);
    for (const [who, at] of [
      [other.token, path],
      [token, '/api/v1/notifications/999999999/actions/approve'],
      [token, '/api/v1/notifications/x/actions/approve'],
    ]) {
      expect((await api(herald, 'POST', at, { token: who })).status).toBe(404);
    }
  });

  it('filters by category, and does not store a muted category (critical always)', async () => {
    const { id: userId, token } = await someone();
    const [order] = await storeNotifications(herald, { userIds: [userId], category: 'orders' });
    await storeNotifications(herald, { userIds: [userId], category: 'social' });
    expect(await ids(token, '?category=orders')).toEqual([order]);
    expect((await api(herald, 'GET', '/api/v1/notifications?category=Bad', { token })).status).toBe(
      400,
    );

    const put = await api(herald, 'PUT', '/api/v1/preferences', {
      token,
      body: { mutedCategories: ['social'], locale: 'pt-br', timeZone: 'america/sao_paulo' },
    });
    expect(put.body).toEqual({
      mutedTypes: [],
      mutedCategories: ['social'],
      locale: 'pt-BR',
      timeZone: 'America/Sao_Paulo',
    });
    expect((await api(herald, 'GET', '/api/v1/preferences', { token })).body).toEqual(put.body);
    await storeNotifications(herald, { userIds: [userId], category: 'social' });
    const [critical] = await storeNotifications(herald, {
      userIds: [userId],
      category: 'social',
      priority: 'critical',
    });
    expect(await ids(token, '?category=social')).toHaveLength(2);
    expect((await ids(token, '?category=social'))[0]).toBe(critical);

    // PUT replaces: what it leaves out goes back to its default.
    const reset = await api(herald, 'PUT', '/api/v1/preferences', { token, body: {} });
    expect(reset.body).toEqual({
      mutedTypes: [],
      mutedCategories: [],
      locale: null,
      timeZone: null,
    });
    for (const body of [{ locale: 'not a locale' }, { mutedCategories: ['A'] }]) {
      expect((await api(herald, 'PUT', '/api/v1/preferences', { token, body })).status).toBe(400);
    }
  });

  it('snoozes: hidden from lists, counts and replay until it wakes, then every tab hears it', async () => {
    const { id: userId, token } = await someone();
    const [a, b] = await storeNotifications(herald, { userIds: [userId] }, 2);
    const tab = await streams.live(herald, { token });
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const snoozed = await api(herald, 'PATCH', `/api/v1/notifications/${a}`, {
      token,
      body: { snoozedUntil: until },
    });
    expect(snoozed.body).toMatchObject({ id: a, snoozedUntil: until });
    expect((await tab.nextOf('notification.updated')).data).toMatchObject({
      id: a,
      snoozedUntil: until,
    });
    expect(await ids(token)).toEqual([b]);
    expect(await ids(token, '?status=snoozed')).toEqual([a]);
    expect(await counts(token)).toEqual({ count: 1, unseen: 1 });
    const replay = await streams.live(herald, { token, lastEventId: '0' });
    expect(replay.events.filter((e) => e.event === 'notification').map((e) => e.data.id)).toEqual([
      b,
    ]);

    // The hour passes (its stored time is moved), and the alarm wakes it; both tabs hear it.
    await herald.app.get(Database).run((db) =>
      db.execute(sql`UPDATE notifications SET snoozed_until = now()
            WHERE user_id = ${userId} AND snoozed_until IS NOT NULL`),
    );
    for (const stream of [tab, replay]) {
      expect(
        (
          await stream.next(
            (e) => e.event === 'notification.updated' && e.data.snoozedUntil === null,
          )
        ).data,
      ).toMatchObject({ id: a, snoozedUntil: null });
    }
    expect(await ids(token)).toEqual([b, a]);
    expect(await counts(token)).toEqual({ count: 2, unseen: 2 });
    // Woken once: nothing is due any more, and no tab heard of it twice.
    expect(await herald.app.get(SnoozeAlarm).wake()).toBe(0);
    await storeNotifications(herald, { userIds: [userId] }); // a marker after everything
    await tab.nextOf('notification');
    const wakes = tab.events.filter(
      (e) => e.event === 'notification.updated' && e.data.snoozedUntil === null,
    );
    expect(wakes).toHaveLength(1);
  });

  it('refuses a snooze in the past, too far ahead, or not a time', async () => {
    const { id: userId, token } = await someone();
    const [id] = await storeNotifications(herald, { userIds: [userId] });
    const day = 24 * 3600 * 1000;
    for (const snoozedUntil of [
      new Date(Date.now() - 1000).toISOString(),
      new Date(Date.now() + 31 * day).toISOString(),
      'tomorrow',
      42,
    ]) {
      const response = await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
        token,
        body: { snoozedUntil },
      });
      expect([snoozedUntil, response.status]).toEqual([snoozedUntil, 400]);
      expect([response.body.message].flat().join()).toMatch(/snoozedUntil/);
    }
    // null wakes (here: was not asleep), and is a change like any other.
    const woken = await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
      token,
      body: { snoozedUntil: null },
    });
    expect(woken.body).toMatchObject({ id, snoozedUntil: null });
  });

  it('changes many by filter with one bulk-updated event, never one per row', async () => {
    const { id: userId, token } = await someone();
    const [x1, , x3] = await storeNotifications(herald, { userIds: [userId], type: 'x' }, 3);
    const [y1] = await storeNotifications(herald, { userIds: [userId], type: 'y' });
    const tab = await streams.live(herald, { token });
    const bulk = (body: object) =>
      api(herald, 'POST', '/api/v1/notifications/bulk', { token, body });

    expect((await bulk({ filter: { type: 'x' }, set: { read: true } })).body).toEqual({
      updated: 3,
    });
    expect((await tab.nextOf('notification.bulk-updated')).data).toEqual({
      upTo: x3,
      filter: { type: 'x' },
      set: { read: true },
      at: expect.any(String),
    });
    expect(await ids(token, '?status=unread')).toEqual([y1]);

    expect(
      (await bulk({ filter: { ids: [x1, y1] }, set: { archived: true, seen: true } })).body,
    ).toEqual({ updated: 2 });
    await tab.nextOf('notification.bulk-updated');
    expect(await ids(token, '?status=archived')).toEqual([y1, x1]);
    await eventually(async () => expect(await counts(token)).toEqual({ count: 0, unseen: 0 }));
    await storeNotifications(herald, { userIds: [userId] }); // a marker after both changes
    await tab.nextOf('notification');
    const events = tab.events.filter((event) => event.event?.startsWith('notification.'));
    expect(events.map((event) => event.event)).toEqual([
      'notification.bulk-updated',
      'notification.bulk-updated',
    ]);

    // A flag set already keeps its first time, also beside one set now.
    const archived = await list(token, '?status=archived');
    const again = await bulk({ filter: { ids: [x1] }, set: { archived: true, read: false } });
    expect(again.body).toEqual({ updated: 1 });
    const [x1Now] = (await list(token, '?status=archived')).filter((item) => item.id === x1);
    expect(x1Now).toMatchObject({
      archivedAt: archived.find((item) => item.id === x1)!.archivedAt,
      readAt: null,
    });
    // Named ids without a status: archived ones too (unarchiving by id).
    expect((await bulk({ filter: { ids: [x1, y1] }, set: { archived: false } })).body).toEqual({
      updated: 2,
    });
    expect(await ids(token, '?status=archived')).toEqual([]);

    const future = new Date(Date.now() + 60_000).toISOString();
    // Read and not archived: x2 and x3 (x1 was made unread above; y1 and the marker never read).
    expect((await bulk({ filter: { before: future }, set: { read: false } })).body).toEqual({
      updated: 2,
    });
  });

  it('replaces by collapseKey: a new id, the old one gone from lists, counts and replay', async () => {
    const { id: userId, token } = await someone();
    const [running] = await storeNotifications(herald, {
      userIds: [userId],
      collapseKey: 'build-7',
      title: 'Build 7 running',
    });
    const tab = await streams.live(herald, { token });
    const [passed] = await storeNotifications(herald, {
      userIds: [userId],
      collapseKey: 'build-7',
      title: 'Build 7 passed',
    });
    expect(compareIds(passed, running)).toBeGreaterThan(0);
    const changes = [await tab.nextOf('notification.updated'), await tab.nextOf('notification')];
    expect(changes.map((event) => [event.event, event.data.id])).toEqual([
      ['notification.updated', running],
      ['notification', passed],
    ]);
    expect(changes[0].data).toMatchObject({ deleted: true, replacedBy: passed });
    expect(changes[1].data).toMatchObject({ collapseKey: 'build-7', title: 'Build 7 passed' });
    expect(await ids(token)).toEqual([passed]);
    expect(await counts(token)).toEqual({ count: 1, unseen: 1 });
    const replay = await streams.live(herald, { token, lastEventId: '0' });
    expect(replay.events.filter((e) => e.event === 'notification').map((e) => e.data.id)).toEqual([
      passed,
    ]);
    // A redelivery of the message that replaced it replaces nothing more.
    await storeNotifications(herald, { userIds: [userId], collapseKey: 'build-7' }, 2);
    expect(await ids(token)).toHaveLength(1);
  });

  it('groups: joins the unread group while its window lasts, with count and actors', async () => {
    const { id: userId, token } = await someone();
    const like = (actor: string, windowSeconds?: number) =>
      storeNotifications(herald, {
        userIds: [userId],
        title: `${actor} liked your post`,
        group: { key: 'post-1', actor, ...(windowSeconds && { windowSeconds }) },
      });
    const [first] = await like('Ada');
    const tab = await streams.live(herald, { token });
    const [second] = await like('Bob');
    const [third] = await like('Ada');
    const [item] = await list(token);
    expect(item).toMatchObject({
      id: third,
      title: 'Ada liked your post',
      groupKey: 'post-1',
      groupCount: 3,
      actors: ['Ada', 'Bob'],
    });
    expect(await ids(token)).toEqual([third]);
    await tab.next((event) => event.event === 'notification' && event.data.id === third);
    const changes = tab.events.filter((event) => event.event?.startsWith('notification'));
    expect(changes.map((event) => [event.event, event.data.id, event.data.replacedBy])).toEqual([
      ['notification.updated', first, second],
      ['notification', second, undefined],
      ['notification.updated', second, third],
      ['notification', third, undefined],
    ]);

    // Read: the next message starts a group of its own; the read one stays.
    await api(herald, 'PATCH', `/api/v1/notifications/${third}`, { token, body: { read: true } });
    const [fresh] = await like('Cy');
    expect((await list(token))[0]).toMatchObject({ id: fresh, groupCount: 1, actors: ['Cy'] });
    expect(await ids(token)).toEqual([fresh, third]);

    // Its window over (the first message an hour old), the next starts a group too.
    await herald.app
      .get(Database)
      .run((db) =>
        db.execute(
          sql`UPDATE notifications SET group_started_at = now() - interval '2 hours' WHERE user_id = ${userId}`,
        ),
      );
    const [later] = await like('Dee');
    expect((await list(token))[0]).toMatchObject({ id: later, groupCount: 1, actors: ['Dee'] });
    expect(await ids(token)).toEqual([later, fresh, third]);
  });

  it('keeps at most five actors, newest first, and chains a key repeated within one batch', async () => {
    const { id: userId, token } = await someone();
    const actors = ['A', 'B', 'C', 'D', 'E', 'F', 'B'];
    const commands = actors.map(
      (actor, n) =>
        validateInput(CreateNotificationCommand, {
          id: `chain-${userId}-${n}`,
          type: 'like',
          title: `${actor} liked it`,
          recipients: { userIds: [userId] },
          group: { key: 'photo', actor },
        }) as KeyedCommand,
    );
    await herald.app.get(Intake).create(commands); // one call: one batch, one transaction
    const items = await list(token);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ groupCount: 7, actors: ['B', 'F', 'E', 'D', 'C'] });
  });

  it('refuses a bulk change without a flag to set, or with a bad filter', async () => {
    const { token } = await someone();
    for (const body of [
      { filter: {}, set: {} },
      { filter: { status: 'gone' }, set: { read: true } },
      { filter: { ids: ['x'] }, set: { read: true } },
      { filter: { before: 'yesterday' }, set: { read: true } },
      { set: { read: true } },
      { filter: {}, set: { read: 'yes' } },
    ]) {
      const response = await api(herald, 'POST', '/api/v1/notifications/bulk', { token, body });
      expect([JSON.stringify(body), response.status]).toEqual([JSON.stringify(body), 400]);
    }
  });
});

describe('inbox v1.1 across instances (PostgreSQL)', () => {
  let storage: TestStorage;
  let a: RunningHerald;
  let b: RunningHerald;
  const prefix = `${uniqueName('amqp')}.`;
  const streams = new TestStreams();
  const start = () => startHerald({ storage, env: { AMQP_PREFIX: prefix } });

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    a = await start();
    b = await start();
  });

  afterAll(async () => {
    streams.closeAll();
    await a?.close();
    await b?.close();
    await storage?.drop();
    await deleteTopology(loadConfig({ AMQP_PREFIX: prefix }).amqp);
  });

  it('leaves one notification when several writers store one key at the same moment', async () => {
    const token = await userToken('racer');
    const at = (n: number) => (n % 2 === 0 ? a : b);
    const replaced = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        storeNotifications(at(n), { userIds: ['racer'], collapseKey: 'race', title: `v${n}` }),
      ),
    );
    const grouped = await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        storeNotifications(at(n), { userIds: ['racer'], group: { key: 'pile', actor: `p${n}` } }),
      ),
    );
    const newest = (stored: string[][]) => stored.flat().sort(compareIds).at(-1);
    const items = (await api(a, 'GET', '/api/v1/notifications', { token })).body.items;
    expect(items.map((item: { id: string }) => item.id)).toEqual([
      newest(grouped),
      newest(replaced),
    ]);
    expect(items[0]).toMatchObject({ groupKey: 'pile', groupCount: 20 });
    expect(items[0].actors).toHaveLength(5);
    expect(items[1]).toMatchObject({ collapseKey: 'race', groupCount: 1 });
  });

  it('wakes once, on either instance, also when the one that snoozed it restarted meanwhile', async () => {
    const token = await userToken('sleeper');
    const [id] = await storeNotifications(a, { userIds: ['sleeper'] });
    const snoozed = await api(a, 'PATCH', `/api/v1/notifications/${id}`, {
      token,
      body: { snoozedUntil: new Date(Date.now() + 3_600_000).toISOString() },
    });
    expect(snoozed.status).toBe(200);
    await a.close(); // the instance that snoozed it is gone when the time comes
    a = await start();
    const [onA, onB] = [await streams.live(a, { token }), await streams.live(b, { token })];
    // The hour passes: its stored time is now.
    const client = new Client({ connectionString: storage.env.DATABASE_URL });
    await client.connect();
    try {
      await client.query(
        `UPDATE "${storage.env.DATABASE_SCHEMA}".notifications SET snoozed_until = now() WHERE id = $1`,
        [id],
      );
    } finally {
      await client.end();
    }
    for (const tab of [onA, onB]) {
      const woken = await tab.next(
        (event) => event.event === 'notification.updated' && event.data.snoozedUntil === null,
      );
      expect(woken.data).toMatchObject({ id, snoozedUntil: null });
    }
    expect(await a.app.get(SnoozeAlarm).wake()).toBe(0);
    expect(await b.app.get(SnoozeAlarm).wake()).toBe(0);
    const woken = [onA, onB].map(
      (tab) => tab.events.filter((event) => event.event === 'notification.updated').length,
    );
    expect(woken).toEqual([1, 1]);
  });
});
