import { TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { api } from './support/http';
import { STORAGE_KINDS } from './support/storage';
import { userToken } from './support/tokens';

describe.each(STORAGE_KINDS)('preferences on %s', (storage) => {
  let herald: RunningHerald;
  let broker: TestBroker;

  beforeAll(async () => {
    herald = await startHerald({ storage });
    broker = await TestBroker.connect();
  });

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  it('starts with nothing muted, and keeps what is put', async () => {
    const token = await userToken('prefs');
    expect(await api(herald, 'GET', '/api/v1/preferences', { token })).toMatchObject({
      status: 200,
      body: { mutedTypes: [] },
    });
    const put = await api(herald, 'PUT', '/api/v1/preferences', {
      token,
      body: { mutedTypes: ['promo.*', 'chat.message'] },
    });
    expect(put).toMatchObject({ status: 200, body: { mutedTypes: ['promo.*', 'chat.message'] } });
    const again = await api(herald, 'PUT', '/api/v1/preferences', {
      token,
      body: { mutedTypes: ['digest'] },
    });
    // v1.1: the preferences also hold mutedCategories and locale; Herald adds timeZone.
    const stored = { mutedTypes: ['digest'], mutedCategories: [], locale: null, timeZone: null };
    expect(again.body).toEqual(stored);
    expect((await api(herald, 'GET', '/api/v1/preferences', { token })).body).toEqual(stored);
    const other = await api(herald, 'GET', '/api/v1/preferences', {
      token: await userToken('prefs', { tenant: 'acme' }),
    });
    expect(other.body).toEqual({
      mutedTypes: [],
      mutedCategories: [],
      locale: null,
      timeZone: null,
    });
  });

  it.each([
    [{ mutedTypes: ['bad type'] }, 'mutedTypes must hold types or prefixes like "promo.*"'],
    [{ mutedTypes: 'promo.*' }, 'mutedTypes must be an array'],
    [{ mutedTypes: ['a', 'a'] }, "All mutedTypes's elements must be unique"],
    [
      { timeZone: 'Mars/Olympus_Mons' },
      'timeZone must be an IANA time zone such as "Europe/Berlin"',
    ],
    [{ timeZone: 'x'.repeat(65) }, 'timeZone must be shorter than or equal to 64 characters'],
    [{ timeZone: 5 }, 'timeZone must be a string'],
  ])('answers 400 naming the field for %j', async (body, message) => {
    const response = await api(herald, 'PUT', '/api/v1/preferences', {
      token: await userToken('prefs-bad'),
      body,
    });
    expect(response.status).toBe(400);
    expect(response.body.message).toContain(message);
  });

  it('does not store muted types for that user; critical always goes through', async () => {
    const token = await userToken('muter');
    await api(herald, 'PUT', '/api/v1/preferences', { token, body: { mutedTypes: ['promo.*'] } });
    const send = (fields: object) =>
      broker.request(herald, 'notification.x', {
        recipients: { userIds: ['muter', 'listener'] },
        title: 'T',
        ...fields,
      });
    const promo = await send({ id: 'p1', type: 'promo.weekly' });
    expect(promo.ids).toHaveLength(1); // the listener's only
    await send({ id: 'p2', type: 'promo.flash', priority: 'critical' });
    await send({ id: 'p3', type: 'order.shipped' });
    const types = async (userId: string) =>
      (
        await api(herald, 'GET', '/api/v1/notifications', { token: await userToken(userId) })
      ).body.items.map((item: { type: string }) => item.type);
    expect(await types('muter')).toEqual(['order.shipped', 'promo.flash']);
    expect(await types('listener')).toEqual(['order.shipped', 'promo.flash', 'promo.weekly']);
  });
});
