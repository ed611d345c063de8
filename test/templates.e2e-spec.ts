import { ScheduledDelivery } from '../src/notifications/scheduling/scheduled-delivery';
import { TestBroker } from './support/amqp';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { TestStreams } from './support/sse';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

const COMMENTS = {
  defaultLocale: 'en',
  locales: {
    en: {
      title: '{count, plural, one {# new comment} other {# new comments}} on {post}',
      body: '{actors} commented',
      actions: { reply: 'Reply' },
    },
    de: { title: '{count, plural, one {Ein neuer Kommentar} other {# neue Kommentare}} zu {post}' },
    pl: {
      title:
        '{count, plural, one {# nowy komentarz} few {# nowe komentarze} many {# nowych komentarzy} other {# komentarza}} do {post}',
      actions: { reply: 'Odpowiedz' },
    },
    'ru-ru': {
      title:
        '{count, plural, one {# новый комментарий} few {# новых комментария} many {# новых комментариев} other {# комментария}}: {post}',
    },
  },
};

/** CONTRACT.md v1.1 "Templates": admin routes, rendering at ingest, dead letters. */
describe.each(STORAGE_KINDS)('templates on %s', (storage) => {
  let herald: RunningHerald;
  let broker: TestBroker;
  let admin: string;
  const streams = new TestStreams();
  let user = 0;
  /** A user of the test's own, their token, and their locale and time zone when given. */
  const someone = async (locale?: string, timeZone?: string) => {
    user += 1;
    const id = `tpl-${user}`;
    const token = await userToken(id);
    if (locale || timeZone) {
      const body = { locale, timeZone };
      const set = await api(herald, 'PUT', '/api/v1/preferences', { token, body });
      expect(set.status).toBe(200);
    }
    return { id, token };
  };
  const put = (name: string, body: unknown, token = admin, query = '') =>
    api(herald, 'PUT', `/api/v1/admin/templates/${name}${query}`, { token, body });
  const inbox = async (token: string) =>
    (await api(herald, 'GET', '/api/v1/notifications', { token })).body.items as {
      id: string;
      title: string;
      body: string | null;
      locale: string | null;
      [field: string]: unknown;
    }[];
  const publish = (messageId: string, message: object) =>
    broker.publish(herald, 'notification.comment.created', message, { messageId });

  beforeAll(async () => {
    herald = await startHerald({ storage });
    broker = await TestBroker.connect();
    admin = await userToken('tpl-admin', { roles: ['admin'] });
    expect((await put('comment.created', COMMENTS)).status).toBe(200);
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('stores, lists, replaces and deletes a template, its locales in canonical form', async () => {
    const created = await put('order.shipped', {
      defaultLocale: 'EN',
      locales: { EN: { title: 'Shipped: {orderId}' }, 'pt-br': { title: 'Enviado: {orderId}' } },
    });
    expect(created.status).toBe(200);
    expect(created.body).toEqual({
      name: 'order.shipped',
      tenantId: null,
      defaultLocale: 'en',
      locales: { en: { title: 'Shipped: {orderId}' }, 'pt-BR': { title: 'Enviado: {orderId}' } },
      revision: 1,
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
    });
    const replaced = await put('order.shipped', {
      defaultLocale: 'en',
      locales: { en: { title: 'On its way: {orderId}' } },
    });
    expect(replaced.body).toMatchObject({
      revision: 2,
      locales: { en: { title: 'On its way: {orderId}' } },
    });
    const one = await api(herald, 'GET', '/api/v1/admin/templates/order.shipped', { token: admin });
    expect(one.body).toEqual(replaced.body);
    const all = await api(herald, 'GET', '/api/v1/admin/templates', { token: admin });
    expect(all.body.items.map((each: { name: string }) => each.name)).toEqual([
      'comment.created',
      'order.shipped',
    ]);

    const gone = await api(herald, 'DELETE', '/api/v1/admin/templates/order.shipped', {
      token: admin,
    });
    expect(gone.status).toBe(204);
    for (const method of ['GET', 'DELETE']) {
      const missing = await api(herald, method, '/api/v1/admin/templates/order.shipped', {
        token: admin,
      });
      expect([missing.status, missing.body.message]).toEqual([
        404,
        'Template "order.shipped" not found',
      ]);
    }
  });

  it.each([
    [
      { defaultLocale: 'en', locales: { en: { title: '{n, plural, one {x}}' } } },
      'locales.en.title is not ICU MessageFormat: MISSING_OTHER_CLAUSE',
    ],
    [
      {
        defaultLocale: 'en',
        locales: { en: { title: 'ok' }, de: { title: 'ok', body: 'Hallo {name' } },
      },
      'locales.de.body is not ICU MessageFormat',
    ],
    [
      { defaultLocale: 'en', locales: { en: { title: 'ok', actions: { Bad: 'x' } } } },
      'action ids are 1-32 of [a-z0-9_-]',
    ],
    [
      { defaultLocale: 'en', locales: { 'not a tag': { title: 'x' } } },
      'locales.not a tag is not a BCP 47',
    ],
    [
      { defaultLocale: 'fr', locales: { en: { title: 'x' } } },
      'defaultLocale fr is not one of locales',
    ],
    [{ defaultLocale: 'en', locales: {} }, 'locales must hold at least one locale'],
    [
      { defaultLocale: 'en', locales: { en: { title: 'x', subtitle: 'y' } } },
      'locales.en: Unrecognized key',
    ],
    [{ defaultLocale: 'en', locales: { en: { title: '' } } }, 'locales.en.title: Too small'],
    [
      { defaultLocale: 'en', locales: { en: { title: 'x' } }, extra: 1 },
      'property extra should not exist',
    ],
    [{ locales: { en: { title: 'x' } } }, 'defaultLocale must be a string'],
  ])('refuses %j with a 400 naming the problem', async (body, message) => {
    const refused = await put('broken', body);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body.message)).toContain(message);
    const none = await api(herald, 'GET', '/api/v1/admin/templates/broken', { token: admin });
    expect(none.status).toBe(404);
  });

  it('is for admins only, and a tenant admin sees only their tenant’s', async () => {
    const plain = await userToken('tpl-plain');
    expect((await put('mine', COMMENTS, plain)).status).toBe(403);
    const acme = await userToken('acme-root', { roles: ['admin'], tenant: 'acme' });
    const beta = await userToken('beta-root', { roles: ['admin'], tenant: 'beta' });
    expect((await put('welcome', COMMENTS, acme)).body.tenantId).toBe('acme');
    const fromBeta = await api(herald, 'GET', '/api/v1/admin/templates/welcome', { token: beta });
    expect(fromBeta.status).toBe(404);
    const betaList = await api(herald, 'GET', '/api/v1/admin/templates', { token: beta });
    expect(betaList.body.items).toEqual([]);
    const across = await put('welcome', COMMENTS, beta, '?tenantId=acme');
    expect(across.status).toBe(403);
    const operator = await api(herald, 'GET', '/api/v1/admin/templates/welcome?tenantId=acme', {
      token: admin,
    });
    expect(operator.body.tenantId).toBe('acme');
  });

  it("writes dates in each recipient's time zone preference", async () => {
    const reminder = {
      defaultLocale: 'en',
      locales: {
        en: { title: '{event} on {at, date, medium} at {at, time, short}' },
        de: { title: '{event} am {at, date, medium} um {at, time, short}' },
      },
    };
    expect((await put('event.reminder', reminder)).status).toBe(200);
    const tokyo = await someone(undefined, 'asia/tokyo');
    const berlin = await someone('de', 'Europe/Berlin');
    const angeleno = await someone(undefined, 'America/Los_Angeles');
    await publish('tpl-zones', {
      template: 'event.reminder',
      recipients: { userIds: [tokyo.id, berlin.id, angeleno.id] },
      data: { event: 'Launch', at: '2027-01-01T02:00:00Z' },
    });
    const title = async (token: string) =>
      eventually(async () => {
        const [newest] = await inbox(token);
        expect(newest).toBeDefined();
        return newest.title.replace(/\s/g, ' ');
      });
    expect(await title(tokyo.token)).toBe('Launch on Jan 1, 2027 at 11:00 AM');
    expect(await title(berlin.token)).toBe('Launch am 1. Jan. 2027 um 03:00');
    expect(await title(angeleno.token)).toBe('Launch on Dec 31, 2026 at 6:00 PM');
  });

  it("renders each recipient's locale (message, preference, nearest, default) and stores it rendered", async () => {
    const austrian = await someone('de-AT');
    const pole = await someone('pl');
    const french = await someone('fr');
    const anyone = await someone();
    const tab = await streams.live(herald, { token: pole.token });
    await publish('tpl-render', {
      template: 'comment.created',
      recipients: { userIds: [austrian.id, pole.id, french.id, anyone.id] },
      data: { post: 'Roadmap', count: 5 },
      actions: [{ id: 'reply', url: '/posts/1#reply' }],
    });
    await publish('tpl-forced', {
      template: 'comment.created',
      locale: 'ru',
      recipients: { userIds: [pole.id] },
      data: { post: 'Roadmap', count: 22 },
    });
    const live = await tab.nextOf('notification');
    expect(live.data).toMatchObject({
      title: '5 nowych komentarzy do Roadmap',
      body: ' commented',
      locale: 'pl',
      actions: [{ id: 'reply', label: 'Odpowiedz', url: '/posts/1#reply' }],
    });
    const forced = await tab.nextOf('notification');
    expect(forced.data).toMatchObject({ title: '22 новых комментария: Roadmap', locale: 'ru-RU' });

    const first = async (token: string) =>
      eventually(async () => {
        const [newest] = await inbox(token);
        expect(newest).toBeDefined();
        return [newest.locale, newest.title, newest.actions];
      });
    expect(await first(austrian.token)).toEqual([
      'de',
      '5 neue Kommentare zu Roadmap',
      [{ id: 'reply', label: 'Reply', url: '/posts/1#reply' }],
    ]);
    expect((await first(french.token)).slice(0, 2)).toEqual(['en', '5 new comments on Roadmap']);
    expect((await first(anyone.token)).slice(0, 2)).toEqual(['en', '5 new comments on Roadmap']);

    // Stored rendered: a new revision changes what comes next, not what was stored.
    await put('comment.created', {
      ...COMMENTS,
      locales: { ...COMMENTS.locales, pl: { title: 'Zmieniony {post}' } },
    });
    const replay = await streams.live(herald, { token: pole.token, lastEventId: '0' });
    const replayed = replay.events.filter((event) => event.event === 'notification');
    expect(replayed.map((event) => (event.data as { title: string }).title)).toEqual([
      '5 nowych komentarzy do Roadmap',
      '22 новых комментария: Roadmap',
    ]);
    await publish('tpl-after', {
      template: 'comment.created',
      recipients: { userIds: [pole.id] },
      data: { post: 'Roadmap' },
    });
    expect((await tab.nextOf('notification')).data).toMatchObject({ title: 'Zmieniony Roadmap' });
    await put('comment.created', COMMENTS);
  });

  it('renders a group again as it grows: {count} and {actors}', async () => {
    const reader = await someone();
    const tab = await streams.live(herald, { token: reader.token });
    for (const [index, actor] of ['Ada', 'Bob', 'Cy'].entries()) {
      await publish(`tpl-group-${index}`, {
        template: 'comment.created',
        recipients: { userIds: [reader.id] },
        data: { post: 'Launch' },
        group: { key: 'post-launch', actor },
      });
      const event = await tab.nextOf('notification');
      expect(event.data).toMatchObject({
        groupCount: index + 1,
        title: `${index + 1} new comment${index === 0 ? '' : 's'} on Launch`,
        body: ['Ada commented', 'Bob and Ada commented', 'Cy, Bob, and Ada commented'][index],
      });
    }
    const [only] = await inbox(reader.token);
    expect([only.title, only.body, only.actors]).toEqual([
      '3 new comments on Launch',
      'Cy, Bob, and Ada commented',
      ['Cy', 'Bob', 'Ada'],
    ]);
  });

  it('renders a scheduled message when it is delivered, and holds one whose template went away', async () => {
    const reader = await someone();
    const tab = await streams.live(herald, { token: reader.token });
    expect(
      (await put('ephemeral', { defaultLocale: 'en', locales: { en: { title: 'Soon gone' } } }))
        .status,
    ).toBe(200);
    const deliverAt = new Date(Date.now() + 1500).toISOString();
    const schedule = (id: string, template: string) =>
      broker.request(herald, 'notification.reminder', {
        id,
        template,
        recipients: { userIds: [reader.id] },
        data: { post: 'Later' },
        deliverAt,
      });
    expect(await schedule('tpl-later', 'comment.created')).toMatchObject({ ok: true });
    expect(await schedule('tpl-orphan', 'ephemeral')).toMatchObject({ ok: true });
    await put('comment.created', {
      ...COMMENTS,
      locales: { ...COMMENTS.locales, en: { title: 'Changed: {post}' } },
    });
    await api(herald, 'DELETE', '/api/v1/admin/templates/ephemeral', { token: admin });

    expect((await tab.nextOf('notification')).data).toMatchObject({ title: 'Changed: Later' });
    await herald.app.get(ScheduledDelivery).deliverDue(); // the orphan's attempt is over
    const held = await api(herald, 'GET', '/api/v1/admin/scheduled', { token: admin });
    expect(held.body.items.map((item: { id: string }) => item.id)).toEqual(['tpl-orphan']);
    await api(herald, 'DELETE', '/api/v1/admin/scheduled/tpl-orphan', { token: admin });
    await put('comment.created', COMMENTS);
  });

  it('dead-letters an unknown template or missing data with reason `template`, and goes on', async () => {
    const survivor = await someone();
    const dead = broker.takeDeadLetters(herald, [
      'tpl-unknown',
      'tpl-missing',
      'tpl-wrong-kind',
      'tpl-other-tenant',
      'tpl-no-title',
    ]);
    const base = { recipients: { userIds: [survivor.id] } };
    await publish('tpl-unknown', { ...base, template: 'nope', data: {} });
    await publish('tpl-missing', { ...base, template: 'comment.created', data: { count: 2 } });
    await publish('tpl-wrong-kind', {
      ...base,
      template: 'comment.created',
      data: { post: 'x', count: 'two' },
    });
    // acme's "welcome" (previous test) is not a template of users without a tenant.
    await publish('tpl-other-tenant', { ...base, template: 'welcome', data: {} });
    await publish('tpl-no-title', { ...base });
    await publish('tpl-fine', { ...base, template: 'comment.created', data: { post: 'ok' } });
    const reasons = Object.fromEntries(
      (await dead).map((letter) => [
        letter.properties.messageId,
        [
          letter.properties.headers?.['x-herald-error-code'],
          letter.properties.headers?.['x-herald-error'],
        ],
      ]),
    );
    expect(reasons).toEqual({
      'tpl-unknown': ['template', 'template: template "nope" does not exist'],
      'tpl-missing': ['template', 'template: template "comment.created": data.post is missing'],
      'tpl-wrong-kind': [
        'template',
        'template: template "comment.created": data.count must be a number',
      ],
      'tpl-other-tenant': ['template', 'template: template "welcome" does not exist'],
      'tpl-no-title': ['invalid', 'invalid: title must be a string'],
    });
    const stored = await eventually(async () => {
      const items = await inbox(survivor.token);
      expect(items).toHaveLength(1);
      return items;
    });
    expect(stored[0].title).toBe('1 new comment on ok');
  });

  it('takes a templated message over the admin API, with a tenant’s own template', async () => {
    const acme = await userToken('acme-sender', { roles: ['admin'], tenant: 'acme' });
    expect(
      (
        await put(
          'welcome',
          { defaultLocale: 'en', locales: { en: { title: 'Welcome to {product}' } } },
          acme,
        )
      ).status,
    ).toBe(200);
    const member = await userToken('acme-member', { tenant: 'acme' });
    const sent = await api(herald, 'POST', '/api/v1/admin/notifications', {
      token: acme,
      body: {
        type: 'welcome',
        template: 'welcome',
        recipients: { userIds: ['acme-member'] },
        data: { product: 'Herald' },
      },
    });
    expect(sent.status).toBe(202);
    const [welcome] = await eventually(async () => {
      const items = await inbox(member);
      expect(items).toHaveLength(1);
      return items;
    });
    expect([welcome.title, welcome.locale]).toEqual(['Welcome to Herald', 'en']);
  });
});
