import { TestBroker } from './support/amqp';
import { eventually } from './support/eventually';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { TestStreams } from './support/sse';
import { createTestStorage, STORAGE_KINDS, TestStorage } from './support/storage';
import { userToken } from './support/tokens';

const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();

describe.each(STORAGE_KINDS)('scheduled notifications on %s', (kind) => {
  let storage: TestStorage;
  let herald: RunningHerald;
  let broker: TestBroker;
  let admin: string;
  const streams = new TestStreams();

  const open = async (userId: string) => streams.live(herald, { token: await userToken(userId) });
  const titles = async (userId: string) => {
    const token = await userToken(userId);
    const response = await api(herald, 'GET', '/api/v1/notifications', { token });
    return (response.body.items as { title: string }[]).map((item) => item.title);
  };
  const schedule = (id: string, userId: string, deliverAt: string, extra: object = {}) =>
    broker.request(herald, 'notification.reminder', {
      id,
      recipients: { userIds: [userId] },
      title: id,
      deliverAt,
      ...extra,
    });

  beforeAll(async () => {
    storage = await createTestStorage(kind);
    herald = await startHerald({ storage });
    broker = await TestBroker.connect();
    admin = await userToken('root', { roles: ['admin'] });
  });

  afterEach(() => streams.closeAll());

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
    await storage?.drop();
  });

  it('holds a notification until deliverAt, then delivers it live', async () => {
    const stream = await open('waiter');
    const deliverAt = inMs(1500);
    expect(await schedule('soon', 'waiter', deliverAt)).toEqual({
      ok: true,
      ids: [],
      scheduled: { id: 'soon', deliverAt },
    });
    expect(await titles('waiter')).toEqual([]);
    const held = await api(herald, 'GET', '/api/v1/admin/scheduled', { token: admin });
    expect(held.body.items).toMatchObject([{ id: 'soon', tenantId: null, deliverAt }]);

    const arrived = await stream.nextOf('notification');
    expect(arrived.data).toMatchObject({ title: 'soon', userId: 'waiter' });
    expect(Date.parse(arrived.data.createdAt)).toBeGreaterThanOrEqual(Date.parse(deliverAt));
    // Removed once stored, and the stream may hear of it first: the entry goes soon after.
    await eventually(async () =>
      expect((await api(herald, 'GET', '/api/v1/admin/scheduled', { token: admin })).body).toEqual({
        items: [],
      }),
    );
  });

  it('never delivers a cancelled one; cancelling twice is 404', async () => {
    const stream = await open('canceller');
    await schedule('cancel-me', 'canceller', inMs(1000));
    await schedule('keep-me', 'canceller', inMs(1200));
    const path = '/api/v1/admin/scheduled/cancel-me';
    expect((await api(herald, 'DELETE', path, { token: admin })).status).toBe(204);
    expect(await api(herald, 'DELETE', path, { token: admin })).toMatchObject({
      status: 404,
      body: { statusCode: 404, error: 'Not Found' },
    });
    expect((await stream.nextOf('notification')).data.title).toBe('keep-me');
    expect(await titles('canceller')).toEqual(['keep-me']);
  });

  it('delivers what was scheduled before a restart', async () => {
    await schedule('across-restart', 'restarted', inMs(1500));
    await herald.close();
    herald = await startHerald({ storage });
    await eventually(async () => expect(await titles('restarted')).toEqual(['across-restart']), {
      timeoutMs: 10_000,
    });
  });

  it('keeps tenants apart: an admin of one tenant cannot see or cancel another’s', async () => {
    await schedule('tenant-held', 'tenant-user', inMs(60_000), { tenantId: 'acme' });
    const globexAdmin = await userToken('g-root', { roles: ['admin'], tenant: 'globex' });
    const path = '/api/v1/admin/scheduled/tenant-held';
    expect((await api(herald, 'DELETE', path, { token: globexAdmin })).status).toBe(404);
    const listed = await api(herald, 'GET', '/api/v1/admin/scheduled', { token: globexAdmin });
    expect(listed.body.items).toEqual([]);
    const foreign = await api(herald, 'DELETE', `${path}?tenantId=acme`, { token: globexAdmin });
    expect(foreign.status).toBe(403);
    const user = await userToken('tenant-user', { tenant: 'acme' });
    expect((await api(herald, 'DELETE', path, { token: user })).status).toBe(403);
    expect((await api(herald, 'DELETE', `${path}?tenantId=acme`, { token: admin })).status).toBe(
      204,
    );
  });

  it('refuses a deliverAt that is not a date, naming it', async () => {
    const reply = await schedule('bad-date', 'x', 'tomorrow');
    expect(reply).toEqual({ ok: false, error: expect.stringContaining('deliverAt must be') });
  });
});
