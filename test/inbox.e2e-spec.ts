import { InboxEvents } from '../src/notifications/inbox-events';
import { compareIds } from '../src/notifications/notification';
import { Inbox } from '../src/notifications/inbox/inbox';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { storeNotifications } from './support/notifications';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

describe.each(STORAGE_KINDS)('inbox REST on %s', (storage) => {
  let herald: RunningHerald;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    herald = await startHerald({ storage });
    alice = await userToken('alice');
    bob = await userToken('bob');
  });

  afterAll(() => herald?.close());

  it('lists newest first with a cursor that stays stable while new rows arrive', async () => {
    const user = 'pager';
    const token = await userToken(user);
    const seeded = await storeNotifications(herald, { userIds: [user] }, 45);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `&cursor=${cursor}` : '';
      const page = await api(herald, 'GET', `/api/v1/notifications?limit=10${query}`, { token });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor;
      pages += 1;
      // New arrivals between pages must neither shift nor repeat what the next page shows.
      await storeNotifications(herald, { userIds: [user] }, 3);
    } while (cursor);
    expect(pages).toBe(5);
    expect(seen).toEqual([...seeded].reverse());
  });

  it('answers a Notification in the shape of CONTRACT.md', async () => {
    const [id] = await storeNotifications(herald, {
      userIds: ['shape'],
      type: 'order.shipped',
      title: 'Your order has shipped',
      body: 'Tracking number 1Z999',
      data: { orderId: 123 },
      priority: 'high',
    });
    const token = await userToken('shape');
    const page = await api(herald, 'GET', '/api/v1/notifications', { token });
    expect(page.body).toEqual({
      items: [
        {
          id,
          userId: 'shape',
          tenantId: null,
          type: 'order.shipped',
          title: 'Your order has shipped',
          body: 'Tracking number 1Z999',
          data: { orderId: 123 },
          priority: 'high',
          topic: null,
          createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          readAt: null,
          archivedAt: null,
          expiresAt: null,
          // CONTRACT.md v1.1 "The Notification gains"
          url: null,
          actions: [],
          category: null,
          seenAt: null,
          interactedAt: null,
          interaction: null,
          snoozedUntil: null,
          collapseKey: null,
          groupKey: null,
          groupCount: 1,
          actors: [],
          locale: null,
        },
      ],
      nextCursor: null,
    });
  });

  it('filters by status and type, and counts unread', async () => {
    const user = 'filters';
    const token = await userToken(user);
    const [a, b, c] = await storeNotifications(herald, { userIds: [user], type: 'x.a' }, 3);
    const [d] = await storeNotifications(herald, { userIds: [user], type: 'x.b' });
    await api(herald, 'PATCH', `/api/v1/notifications/${a}`, { token, body: { read: true } });
    await api(herald, 'PATCH', `/api/v1/notifications/${b}`, { token, body: { archived: true } });

    const ids = async (query: string) =>
      (await api(herald, 'GET', `/api/v1/notifications?${query}`, { token })).body.items.map(
        (item: { id: string }) => item.id,
      );
    expect(await ids('status=unread')).toEqual([d, c]);
    expect(await ids('status=read')).toEqual([a]);
    expect(await ids('status=all')).toEqual([d, c, a]);
    expect(await ids('')).toEqual([d, c, a]);
    expect(await ids('status=archived')).toEqual([b]);
    expect(await ids('type=x.a')).toEqual([c, a]);
    expect(await ids('type=x.a&status=unread')).toEqual([c]);

    const count = await api(herald, 'GET', '/api/v1/notifications/unread-count', { token });
    expect(count).toMatchObject({ status: 200, body: { count: 2 } });
  });

  it('marks read and unread, archives, and reads all', async () => {
    const user = 'reader';
    const token = await userToken(user);
    const [first] = await storeNotifications(herald, { userIds: [user] }, 4);
    const count = async () =>
      (await api(herald, 'GET', '/api/v1/notifications/unread-count', { token })).body.count;

    const read = await api(herald, 'PATCH', `/api/v1/notifications/${first}`, {
      token,
      body: { read: true },
    });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ id: first, archivedAt: null });
    expect(Date.parse(read.body.readAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(await count()).toBe(3);

    // Marking read again keeps the first read time.
    const again = await api(herald, 'PATCH', `/api/v1/notifications/${first}`, {
      token,
      body: { read: true },
    });
    expect(again.body.readAt).toBe(read.body.readAt);

    const unread = await api(herald, 'PATCH', `/api/v1/notifications/${first}`, {
      token,
      body: { read: false },
    });
    expect(unread.body.readAt).toBeNull();
    expect(await count()).toBe(4);

    const all = await api(herald, 'POST', '/api/v1/notifications/read-all', { token });
    expect(all).toMatchObject({ status: 200, body: { updated: 4 } });
    expect(await count()).toBe(0);
    const none = await api(herald, 'POST', '/api/v1/notifications/read-all', { token });
    expect(none.body).toEqual({ updated: 0 });
  });

  it('deletes, after which the id is gone for every route', async () => {
    const token = await userToken('deleter');
    const [id] = await storeNotifications(herald, { userIds: ['deleter'] });
    const deleted = await api(herald, 'DELETE', `/api/v1/notifications/${id}`, { token });
    expect(deleted.status).toBe(204);
    expect(deleted.body).toBe('');
    expect((await api(herald, 'DELETE', `/api/v1/notifications/${id}`, { token })).status).toBe(
      404,
    );
    const patch = await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
      token,
      body: { read: true },
    });
    expect(patch.status).toBe(404);
    const list = await api(herald, 'GET', '/api/v1/notifications', { token });
    expect(list.body.items).toEqual([]);
  });

  it("answers 404, never 403, for another user's or an unknown id", async () => {
    const [alicesId] = await storeNotifications(herald, { userIds: ['alice'] });
    for (const id of [alicesId, '999999999', 'not-an-id', '99999999999999999999', '0']) {
      const patch = await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
        token: bob,
        body: { read: true },
      });
      expect(patch).toMatchObject({ status: 404, body: { statusCode: 404, error: 'Not Found' } });
      const del = await api(herald, 'DELETE', `/api/v1/notifications/${id}`, { token: bob });
      expect(del.status).toBe(404);
    }
    // Bob's attempts changed nothing of Alice's.
    const list = await api(herald, 'GET', '/api/v1/notifications', { token: alice });
    expect(list.body.items.find((item: { id: string }) => item.id === alicesId)).toMatchObject({
      readAt: null,
    });
  });

  it('keeps tenants apart for the same user id', async () => {
    await storeNotifications(herald, { userIds: ['shared'], tenantId: 'acme', title: 'acme' });
    await storeNotifications(herald, { userIds: ['shared'], tenantId: 'globex', title: 'globex' });
    await storeNotifications(herald, { userIds: ['shared'], title: 'no tenant' });
    const titles = async (tenant?: string) =>
      (
        await api(herald, 'GET', '/api/v1/notifications', {
          token: await userToken('shared', { tenant }),
        })
      ).body.items.map((item: { title: string; tenantId: string | null }) => [
        item.title,
        item.tenantId,
      ]);
    expect(await titles('acme')).toEqual([['acme', 'acme']]);
    expect(await titles('globex')).toEqual([['globex', 'globex']]);
    expect(await titles()).toEqual([['no tenant', null]]);
  });

  it('stores one notification per recipient for a repeated idempotency key', async () => {
    const first = await storeNotifications(herald, { userIds: ['dup1', 'dup2'], id: 'order-1' });
    const again = await storeNotifications(herald, { userIds: ['dup1', 'dup2'], id: 'order-1' }, 2);
    expect(again).toEqual([...first, ...first]);
    const list = await api(herald, 'GET', '/api/v1/notifications', {
      token: await userToken('dup2'),
    });
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([first[1]]);
  });

  it('stores one row when a new key comes twice in the same batch', async () => {
    const [a, b] = await storeNotifications(herald, { userIds: ['dup3'], id: 'twice-at-once' }, 2);
    expect(a).toBe(b);
    const list = await api(herald, 'GET', '/api/v1/notifications', {
      token: await userToken('dup3'),
    });
    expect(list.body.items.map((item: { id: string }) => item.id)).toEqual([a]);
  });

  it.each([
    ['limit=0', 'limit must not be less than 1'],
    ['limit=101', 'limit must not be greater than 100'],
    ['limit=ten', 'limit must be an integer number'],
    [
      'status=gone',
      'status must be one of the following values: unread, read, all, archived, unseen, snoozed',
    ],
    ['type=a%0Ab', 'type must be 1-100 of [A-Za-z0-9_.:-]'],
    ['colour=red', 'property colour should not exist'],
  ])('answers 400 naming the field for ?%s', async (query, message) => {
    const response = await api(herald, 'GET', `/api/v1/notifications?${query}`, { token: alice });
    expect(response.status).toBe(400);
    expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });

  it.each([
    [{ read: 'yes' }, 'read must be a boolean value'],
    [{ archived: 1 }, 'archived must be a boolean value'],
    [{ read: true, colour: 'red' }, 'property colour should not exist'],
    [{}, 'the body must set read, archived, seen or snoozedUntil'],
  ])('answers 400 naming the field for PATCH %j', async (body, message) => {
    const [id] = await storeNotifications(herald, { userIds: ['alice'] });
    const response = await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
      token: alice,
      body,
    });
    expect(response).toMatchObject({ status: 400, body: { statusCode: 400, message } });
  });

  it('answers 400 for a body that is not JSON', async () => {
    const [id] = await storeNotifications(herald, { userIds: ['alice'] });
    const response = await api(herald, 'PATCH', `/api/v1/notifications/${id}`, {
      token: alice,
      rawBody: '{"read": tru',
    });
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
  });

  it('never lets a smaller id become visible after a larger one (concurrent writers)', async () => {
    const user = 'ordered';
    const service = herald.app.get(Inbox);
    // Each new notification names the one stored before it: the chain streams deliver in.
    const chain = new Map<string, string | null | undefined>();
    const subscription = herald.app.get(InboxEvents).events$.subscribe((event) => {
      if (event.kind === 'created' && event.notification.userId === user) {
        chain.set(event.notification.id, event.previousId);
      }
    });
    const writers = 8;
    const perWriter = 40;
    let writing = true;
    let seenMax = 0n;
    const seen = new Set<string>();
    const violations: string[] = [];

    const reader = (async () => {
      while (writing) {
        const page = await service.list(
          { userId: user, tenantId: null },
          { limit: 100, status: 'all' },
        );
        const fresh = page.items.map((item) => item.id).filter((id) => !seen.has(id));
        for (const id of fresh) {
          if (BigInt(id) < seenMax) violations.push(`${id} appeared after ${seenMax}`);
        }
        for (const id of fresh) {
          seen.add(id);
          if (BigInt(id) > seenMax) seenMax = BigInt(id);
        }
      }
    })();
    await Promise.all(
      Array.from({ length: writers }, async () => {
        for (let i = 0; i < perWriter; i += 1) {
          // Each batch also writes to other users, as a real ingest batch would.
          await storeNotifications(herald, { userIds: [user, `other-${i % 5}`] });
        }
      }),
    );
    writing = false;
    await reader;
    subscription.unsubscribe();
    expect(violations).toEqual([]);
    const ids = [...chain.keys()].sort(compareIds);
    expect(ids).toHaveLength(writers * perWriter);
    expect(ids.map((id) => chain.get(id))).toEqual([null, ...ids.slice(0, -1)]);
    expect(seen.size).toBeGreaterThan(0);
    const count = await service.unreadCount({ userId: user, tenantId: null });
    expect(count).toBe(writers * perWriter);
  });
});
