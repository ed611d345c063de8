import { CapacityError, InvalidInputError } from '../../common/domain-error';
import { validateInput } from '../../common/validation';
import { Audience, AudienceMember, AudienceRepository } from '../audience/audience.repository';
import { CreateNotificationCommand } from './create-notification.command';
import { InboxEvents } from '../inbox-events';
import { byRecipients, FAN_OUT_PAGE, Intake, KeyedCommand, TRANSACTION_RECIPIENTS } from './intake';
import { freshState, Notification, NotificationDraft, recipientKey } from '../notification';
import { NotificationsRepository, StoredDraft } from '../inbox/notifications.repository';
import { DeliveryPreferences, PreferencesRepository } from '../audience/preferences.repository';
import type { Template, TemplateDefinition } from '../templates/template';
import { TemplateError } from '../templates/template';
import { Templates } from '../templates/templates';
import { TemplateKey, TemplatesRepository } from '../templates/templates.repository';
import { ScheduledNotification, ScheduledRepository } from '../scheduling/scheduled.repository';

/** Stores drafts in memory, keeping the first of each (recipient, key), like the real one. */
class MemoryRepository implements Pick<NotificationsRepository, 'insertMany'> {
  readonly rows = new Map<string, Notification>();
  /** Drafts per insertMany call: one call is one transaction. */
  readonly transactions: number[] = [];

  insertMany(drafts: NotificationDraft[]): Promise<StoredDraft[]> {
    this.transactions.push(drafts.length);
    return Promise.resolve(
      drafts.map((draft) => {
        const key = `${draft.recipient.tenantId}/${draft.recipient.userId}/${draft.idempotencyKey}`;
        const existing = this.rows.get(key);
        if (existing) return { notification: existing, created: false };
        const notification: Notification = {
          ...draft,
          ...draft.recipient,
          ...freshState(),
          locale: draft.locale,
          id: String(this.rows.size + 1),
          createdAt: new Date(),
        };
        this.rows.set(key, notification);
        return { notification, created: true };
      }),
    );
  }
}

/** What recipients muted and the locale they read, by recipientKey, as the real one answers. */
class MemoryPreferences implements Pick<PreferencesRepository, 'deliveryOf'> {
  readonly delivery = new Map<string, DeliveryPreferences>();

  deliveryOf(): Promise<Map<string, DeliveryPreferences>> {
    return Promise.resolve(this.delivery);
  }
}

/** Templates by tenant and name; every PUT a new revision, like the real one. */
class MemoryTemplates implements Pick<TemplatesRepository, 'put' | 'find'> {
  readonly rows = new Map<string, Template>();

  put(key: TemplateKey, definition: TemplateDefinition): Promise<Template> {
    const id = `${key.tenantId}/${key.name}`;
    const template = {
      ...key,
      ...definition,
      revision: (this.rows.get(id)?.revision ?? 0) + 1,
      createdAt: new Date(),
      updatedAt: new Date(),
    };
    this.rows.set(id, template);
    return Promise.resolve(template);
  }

  find(keys: TemplateKey[]): Promise<Template[]> {
    return Promise.resolve(
      keys.flatMap((key) => this.rows.get(`${key.tenantId}/${key.name}`) ?? []),
    );
  }
}

/** Subscriptions (tenant '' here) and known users, paged by user id like the real one. */
class MemoryAudience implements Pick<AudienceRepository, 'page'> {
  readonly subscribers = new Map<string, string[]>();
  readonly known: string[] = [];

  page(audience: Audience, after: string | undefined, limit: number): Promise<AudienceMember[]> {
    const members = new Map<string, string | null>();
    if (audience.broadcast) for (const userId of this.known) members.set(userId, null);
    for (const topic of [...audience.topics].sort()) {
      for (const userId of this.subscribers.get(topic) ?? []) {
        if (!members.has(userId)) members.set(userId, topic);
      }
    }
    const page = [...members]
      .map(([userId, topic]) => ({ userId, topic }))
      .filter((member) => after === undefined || member.userId > after)
      .sort((a, b) => (a.userId < b.userId ? -1 : 1))
      .slice(0, limit);
    return Promise.resolve(page);
  }
}

class MemoryScheduled implements Pick<ScheduledRepository, 'schedule'> {
  readonly entries: Omit<ScheduledNotification, 'createdAt'>[] = [];

  schedule(entries: Omit<ScheduledNotification, 'createdAt'>[]): Promise<void> {
    this.entries.push(...entries);
    return Promise.resolve();
  }
}

let keys = 0;
/** A command as the batcher hands it over: with an idempotency key. */
const command = (input: object): KeyedCommand => {
  const validated = validateInput(CreateNotificationCommand, { type: 't', title: 'T', ...input });
  return Object.assign(validated, { id: validated.id ?? `key-${(keys += 1)}` });
};

describe('Intake', () => {
  let repository: MemoryRepository;
  let preferences: MemoryPreferences;
  let audience: MemoryAudience;
  let scheduled: MemoryScheduled;
  let templates: Templates;
  let templateRows: MemoryTemplates;
  let stored: Notification[];
  let service: Intake;

  beforeEach(() => {
    repository = new MemoryRepository();
    preferences = new MemoryPreferences();
    audience = new MemoryAudience();
    scheduled = new MemoryScheduled();
    templateRows = new MemoryTemplates();
    templates = new Templates(templateRows as unknown as TemplatesRepository);
    stored = [];
    const events = new InboxEvents();
    events.events$.subscribe((event) => {
      if (event.kind === 'created') stored.push(event.notification);
    });
    service = new Intake(
      repository as unknown as NotificationsRepository,
      preferences as unknown as PreferencesRepository,
      audience as unknown as AudienceRepository,
      scheduled as unknown as ScheduledRepository,
      templates,
      events,
    );
  });

  it('stores one row per recipient and answers per command', async () => {
    const [first, second] = await service.create([
      command({ id: 'k1', recipients: { userIds: ['a', 'b'] }, tenantId: 'acme' }),
      command({ id: 'k2', recipients: { userIds: ['a'] }, priority: 'critical' }),
    ]);
    expect(first).toEqual({ ids: ['1', '2'], created: 2 });
    expect(second).toEqual({ ids: ['3'], created: 1 });
    expect(stored.map((n) => [n.userId, n.tenantId, n.priority])).toEqual([
      ['a', 'acme', 'normal'],
      ['b', 'acme', 'normal'],
      ['a', null, 'critical'],
    ]);
    expect(repository.transactions).toEqual([3]);
  });

  it('answers the existing ids for a repeated key and creates nothing', async () => {
    const [first] = await service.create([command({ id: 'k', recipients: { userIds: ['a'] } })]);
    const [again] = await service.create([command({ id: 'k', recipients: { userIds: ['a'] } })]);
    expect(again).toEqual({ ids: first.ids, created: 0 });
    expect(stored).toHaveLength(1);
  });

  it('stores a burst to many recipients in transactions of a bounded number of recipients', async () => {
    // 40 messages to 1,000 users each: 40,000 rows, never all their locks in one transaction.
    const users = Array.from({ length: 1000 }, (_, i) => `u${i}`);
    const burst = Array.from({ length: 40 }, (_, i) =>
      command({ id: `m${i}`, title: `m${i}`, recipients: { userIds: users } }),
    );
    const results = await service.create(burst);
    expect(results.every((result) => result.created === 1000)).toBe(true);
    expect(repository.transactions).toHaveLength((40 * 1000) / TRANSACTION_RECIPIENTS);
    // In message order: each user's notifications were stored as the messages came.
    const titles = stored.filter((n) => n.userId === 'u7').map((n) => n.title);
    expect(titles).toEqual(burst.map((each) => each.title));
  });

  it('splits a transaction the database could not hold, and stores every draft once, in order', async () => {
    const insert = repository.insertMany.bind(repository);
    repository.insertMany = (drafts) =>
      new Set(drafts.map((draft) => draft.recipient.userId)).size > 3
        ? Promise.reject(new CapacityError('too much for one transaction: 53200'))
        : insert(drafts);
    const users = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const [result] = await service.create([command({ recipients: { userIds: users } })]);
    expect(result.created).toBe(users.length);
    expect(stored.map((n) => n.userId)).toEqual(users);
    expect(repository.transactions).toEqual([2, 2, 3]);
  });

  it('stores nothing for a recipient who muted the type, unless it is critical', async () => {
    preferences.delivery.set(recipientKey({ userId: 'quiet', tenantId: null }), {
      mutedTypes: ['promo.*'],
      mutedCategories: [],
      locale: null,
      timeZone: null,
    });
    const [promo, critical, other] = await service.create([
      command({ type: 'promo.weekly', recipients: { userIds: ['quiet', 'loud'] } }),
      command({ type: 'promo.weekly', priority: 'critical', recipients: { userIds: ['quiet'] } }),
      command({ type: 'order.shipped', recipients: { userIds: ['quiet'] } }),
    ]);
    expect(promo.ids).toHaveLength(1);
    expect([critical.created, other.created]).toEqual([1, 1]);
    expect(stored.map((n) => `${n.userId} ${n.type}`)).toEqual([
      'loud promo.weekly',
      'quiet promo.weekly',
      'quiet order.shipped',
    ]);
  });

  it('does not store what expired before it arrived', async () => {
    const [expired, current] = await service.create([
      command({ recipients: { userIds: ['a'] }, expiresAt: '2020-01-01T00:00:00Z' }),
      command({ recipients: { userIds: ['a'] }, expiresAt: '2999-01-01T00:00:00Z' }),
    ]);
    expect(expired).toEqual({ ids: [], created: 0 });
    expect(current.created).toBe(1);
  });

  it('fans a topic out to its subscribers in transactions of FAN_OUT_PAGE recipients', async () => {
    const many = Array.from({ length: 2 * FAN_OUT_PAGE + 1 }, (_, i) => `u${1e6 + i}`);
    audience.subscribers.set('orders', many);
    const [result] = await service.create([
      command({ id: 'k', recipients: { topics: ['orders'] } }),
    ]);
    expect(result.created).toBe(many.length);
    expect(repository.transactions).toEqual([FAN_OUT_PAGE, FAN_OUT_PAGE, 1]);
    expect(new Set(stored.map((n) => n.topic))).toEqual(new Set(['orders']));
  });

  it('fails the fan-out when a page fails (so the message is retried), leaving nothing unhandled', async () => {
    const many = Array.from({ length: 3 * FAN_OUT_PAGE }, (_, i) => `u${1e6 + i}`);
    audience.subscribers.set('orders', many);
    const insert = repository.insertMany.bind(repository);
    let calls = 0;
    // Page 1, then page 2 fails while page 3 is being read.
    repository.insertMany = (drafts) =>
      ++calls === 2 ? Promise.reject(new Error('storage down')) : insert(drafts);
    const read = audience.page.bind(audience);
    let reads = 0;
    audience.page = (...args) =>
      ++reads === 3
        ? new Promise((resolve) => setTimeout(() => resolve(read(...args)), 20))
        : read(...args);
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await expect(
        service.create([command({ id: 'k', recipients: { topics: ['orders'] } })]),
      ).rejects.toThrow('storage down');
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  it('stores once for a user named and subscribed, and tags the topic', async () => {
    audience.subscribers.set('orders', ['a', 'b']);
    audience.subscribers.set('news', ['b', 'c']);
    const [result] = await service.create([
      command({ id: 'k', recipients: { userIds: ['a'], topics: ['orders', 'news'] } }),
    ]);
    expect(result.created).toBe(3);
    expect(stored.map((n) => [n.userId, n.topic])).toEqual([
      ['a', null],
      ['b', 'news'],
      ['c', 'news'],
    ]);
  });

  it('completes a fan-out on redelivery without storing anything twice', async () => {
    audience.subscribers.set('orders', ['a', 'b']);
    await service.create([command({ id: 'k', recipients: { topics: ['orders'] } })]);
    audience.subscribers.set('orders', ['a', 'b', 'c']);
    const [again] = await service.create([
      command({ id: 'k', recipients: { topics: ['orders'] } }),
    ]);
    expect(again).toEqual({ ids: ['1', '2', '3'], created: 1 });
  });

  it('broadcasts to every known user', async () => {
    audience.known.push('a', 'b');
    const [result] = await service.create([command({ recipients: { broadcast: true } })]);
    expect(result.created).toBe(2);
    expect(stored.map((n) => [n.userId, n.topic])).toEqual([
      ['a', null],
      ['b', null],
    ]);
  });

  it('holds a notification due later, under its id, and stores nothing yet', async () => {
    const now = new Date('2026-01-01T00:00:00Z');
    const [later, due] = await service.create(
      [
        command({ id: 'k', recipients: { userIds: ['a'] }, deliverAt: '2026-01-01T00:00:05Z' }),
        command({ recipients: { userIds: ['a'] }, deliverAt: '2026-01-01T00:00:00Z' }),
      ],
      now,
    );
    expect(later).toEqual({
      ids: [],
      created: 0,
      scheduled: { id: 'k', deliverAt: new Date('2026-01-01T00:00:05Z') },
    });
    expect(due.created).toBe(1);
    expect(scheduled.entries).toEqual([
      expect.objectContaining({ id: 'k', tenantId: null, deliverAt: later.scheduled!.deliverAt }),
    ]);
    expect(scheduled.entries[0].command).toMatchObject({ id: 'k', recipients: { userIds: ['a'] } });
  });
  describe('with a template', () => {
    const prefer = (userId: string, locale: string | null, timeZone: string | null = null) =>
      preferences.delivery.set(recipientKey({ userId, tenantId: null }), {
        mutedTypes: [],
        mutedCategories: [],
        locale,
        timeZone,
      });

    beforeEach(async () => {
      await templates.put(
        { tenantId: null, name: 'comment.created' },
        {
          defaultLocale: 'en',
          locales: {
            en: {
              title: '{count, plural, one {# new comment} other {# new comments}} on {post}',
              actions: { reply: 'Reply' },
            },
            de: { title: 'Neuer Kommentar zu {post}', body: 'Von {author}' },
            pl: {
              title:
                '{count, plural, one {# nowy komentarz} few {# nowe komentarze} many {# nowych komentarzy} other {# komentarza}}',
            },
          },
        },
      );
    });

    it("renders in the message's locale, else the recipient's nearest, else the default", async () => {
      prefer('austrian', 'de-AT');
      prefer('french', 'fr');
      await service.create([
        command({
          template: 'comment.created',
          title: undefined,
          body: 'kept where the locale has none',
          data: { post: 'Roadmap', author: 'Ada' },
          actions: [{ id: 'reply' }],
          recipients: { userIds: ['austrian', 'french', 'anyone'] },
        }),
        command({
          template: 'comment.created',
          title: undefined,
          locale: 'pl-PL',
          data: { post: 'Roadmap', author: 'Bob', count: 5 },
          recipients: { userIds: ['austrian'] },
        }),
      ]);
      const reply = [{ id: 'reply', label: 'Reply' }];
      expect(stored.map((n) => [n.userId, n.locale, n.title, n.body, n.actions])).toEqual([
        ['austrian', 'de', 'Neuer Kommentar zu Roadmap', 'Von Ada', reply],
        ['french', 'en', '1 new comment on Roadmap', 'kept where the locale has none', reply],
        ['anyone', 'en', '1 new comment on Roadmap', 'kept where the locale has none', reply],
        ['austrian', 'pl', '5 nowych komentarzy', null, []],
      ]);
    });

    it("writes dates in each recipient's time zone, else the server's", async () => {
      await templates.put(
        { tenantId: null, name: 'meeting' },
        {
          defaultLocale: 'en',
          locales: {
            en: { title: '{topic} at {start, time, short}' },
            de: { title: '{topic} um {start, time, short}' },
          },
        },
      );
      prefer('tokyo', null, 'Asia/Tokyo');
      prefer('berlin', 'de', 'Europe/Berlin');
      prefer('berlin-en', null, 'Europe/Berlin');
      const start = '2026-07-01T09:30:00Z';
      await service.create([
        command({
          template: 'meeting',
          data: { topic: 'Standup', start },
          recipients: { userIds: ['tokyo', 'berlin', 'berlin-en', 'anyone'] },
        }),
      ]);
      const server = new Intl.DateTimeFormat('en', { timeStyle: 'short' }).format(new Date(start));
      expect(stored.map((n) => [n.userId, n.title.replace(/\s/g, ' ')])).toEqual([
        ['tokyo', 'Standup at 6:30 PM'],
        ['berlin', 'Standup um 11:30'],
        ['berlin-en', 'Standup at 11:30 AM'],
        ['anyone', `Standup at ${server.replace(/\s/g, ' ')}`],
      ]);
    });

    it('renders a template deleted and put again (its revision 1 again) with its new text', async () => {
      const send = async (id: string) => {
        await service.create([
          command({ id, template: 'hello', data: {}, recipients: { userIds: ['a'] } }),
        ]);
      };
      const put = (title: string) =>
        templates.put(
          { tenantId: null, name: 'hello' },
          { defaultLocale: 'en', locales: { en: { title } } },
        );
      await put('Old');
      await send('first');
      templateRows.rows.clear();
      expect((await put('New')).revision).toBe(1);
      await send('second');
      expect(stored.map((n) => n.title)).toEqual(['Old', 'New']);
    });

    it('renders every page of a topic fan-out, each recipient in their locale', async () => {
      const users = Array.from(
        { length: FAN_OUT_PAGE * 2 + 7 },
        (_, i) => `fan-${String(i).padStart(4, '0')}`,
      );
      audience.subscribers.set('posts', users);
      for (const userId of users.filter((_, i) => i % 3 === 0)) prefer(userId, 'de');
      const [result] = await service.create([
        command({
          template: 'comment.created',
          data: { post: 'Launch', author: 'Ada' },
          recipients: { topics: ['posts'] },
        }),
      ]);
      expect(result.created).toBe(users.length);
      expect(stored.map((n) => [n.userId, n.title])).toEqual(
        users.map((userId, i) => [
          userId,
          i % 3 === 0 ? 'Neuer Kommentar zu Launch' : '1 new comment on Launch',
        ]),
      );
    });

    it("takes the default locale's title where the recipient's renders blank", async () => {
      await templates.put(
        { tenantId: null, name: 'echo' },
        {
          defaultLocale: 'en',
          locales: { en: { title: 'Note: {text}' }, de: { title: '{text}' } },
        },
      );
      prefer('berliner', 'de');
      await service.create([
        command({ template: 'echo', data: { text: ' ' }, recipients: { userIds: ['berliner'] } }),
      ]);
      expect(stored.map((n) => n.title)).toEqual(['Note:  ']);
    });

    it.each([
      [{ template: 'nope' }, 'template "nope" does not exist'],
      [{ data: { author: 'Ada' } }, 'template "comment.created": data.post is missing'],
      // Every argument of every locale: what renders must not depend on who receives it.
      [{ data: { post: 'x' } }, 'template "comment.created": data.author is missing'],
      [{ data: { post: 'x', author: 'A', count: 'two' } }, 'data.count must be a number'],
      [{ data: { post: { deep: 1 }, author: 'A' } }, 'data.post must be a string, a number'],
      [
        { data: { post: 'x', author: 'A' }, actions: [{ id: 'share' }] },
        'actions.share has no label: neither the message nor en gives one',
      ],
    ])('refuses %j with a TemplateError, and only that command', async (input, message) => {
      const [plain, templated] = await service.create([
        command({ recipients: { userIds: ['a'] } }),
        command({ template: 'comment.created', recipients: { userIds: ['a'] }, ...input }),
      ]);
      expect(templated.refused).toBeInstanceOf(TemplateError);
      expect(templated.refused?.message).toContain(message);
      expect([templated.created, templated.ids]).toEqual([0, []]);
      expect(plain.created).toBe(1);
      expect(stored.map((n) => n.title)).toEqual(['T']);
    });
  });
});

describe('byRecipients', () => {
  const draft = (userId: string) =>
    ({ recipient: { userId, tenantId: null } }) as NotificationDraft;

  it('cuts runs of at most `limit` distinct recipients, keeping the order', () => {
    const drafts = ['a', 'b', 'a', 'c', 'b', 'd', 'a'].map(draft);
    const runs = [...byRecipients(drafts, 2)].map((run) => run.map((d) => d.recipient.userId));
    expect(runs).toEqual([
      ['a', 'b', 'a'],
      ['c', 'b'],
      ['d', 'a'],
    ]);
  });
});

describe('CreateNotificationCommand', () => {
  it.each([
    [{}, 'recipients should not be null or undefined'],
    [{ recipients: {} }, 'recipients needs userIds, topics or broadcast: true'],
    [{ recipients: { userIds: [] } }, 'recipients needs userIds, topics or broadcast: true'],
    [{ recipients: { broadcast: false } }, 'recipients needs userIds, topics or broadcast: true'],
    [{ recipients: { topics: ['a b'] } }, 'topics must hold topic names'],
    [{ recipients: { broadcast: 'yes' } }, 'recipients.broadcast must be a boolean'],
    [{ recipients: { userIds: ['a'] }, deliverAt: 'later' }, 'deliverAt must be a valid ISO 8601'],
    [{ recipients: { userIds: ['a\r\nevent: x'] } }, 'userIds must not contain control characters'],
    [{ recipients: { userIds: ['a'] }, type: 'a b' }, 'type must be 1-100 of [A-Za-z0-9_.:-]'],
    [{ recipients: { userIds: ['a'] }, title: '  ' }, 'title must not be blank'],
    [{ recipients: { userIds: ['a'] }, priority: 'urgent' }, 'priority must be one of'],
    [{ recipients: { userIds: ['a'] }, expiresAt: 'soon' }, 'expiresAt must be a valid ISO 8601'],
    [{ recipients: { userIds: ['a'] }, data: [1] }, 'data must be an object'],
    [{ recipients: { userIds: ['a'] }, extra: 1 }, 'property extra should not exist'],
    [{ recipients: { userIds: ['a'] }, template: 'a b' }, 'template must be 1-100 of'],
    [{ recipients: { userIds: ['a'] }, locale: 'not a tag' }, 'locale must be a BCP 47'],
    [{ recipients: { userIds: ['a'] }, title: undefined }, 'title must be a string'],
    [
      { recipients: { userIds: ['a'] }, title: undefined, template: null },
      'title must be a string',
    ],
    [
      { recipients: { userIds: ['a'] }, actions: [{ id: 'x' }] },
      'actions.label is required unless a template labels the action',
    ],
  ])('refuses %j, naming the field', (input, message) => {
    expect(() => command(input)).toThrow(InvalidInputError);
    expect(() => command(input)).toThrow(message);
  });

  it.each([{ topics: ['orders'] }, { userIds: [], broadcast: true }, { userIds: ['a'] }])(
    'accepts recipients %j',
    (recipients) => {
      expect(command({ recipients }).recipients).toEqual(recipients);
    },
  );

  it('refuses input that is not an object', () => {
    expect(() => validateInput(CreateNotificationCommand, [1])).toThrow(
      'the body must be a JSON object',
    );
  });
});
