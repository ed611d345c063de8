import { InvalidInputError } from '../common/domain-error';
import { validateInput } from '../common/validation';
import { CreateNotificationCommand } from './create-notification.command';
import { Notification, NotificationDraft, recipientKey } from './notification';
import { InboxEvents } from './inbox-events';
import { NotificationNotFoundError } from './notification.errors';
import { NotificationsRepository, StoredDraft } from './notifications.repository';
import { NotificationsService } from './notifications.service';
import { PreferencesRepository } from './preferences.repository';

/** Stores drafts in memory, keeping the first of each (recipient, key), like the real one. */
class MemoryRepository implements Pick<NotificationsRepository, 'insertMany' | 'changeState'> {
  readonly rows = new Map<string, Notification>();

  insertMany(drafts: NotificationDraft[]): Promise<StoredDraft[]> {
    return Promise.resolve(
      drafts.map((draft) => {
        const key = `${draft.recipient.tenantId}/${draft.recipient.userId}/${draft.idempotencyKey}`;
        const existing = this.rows.get(key);
        if (existing) return { notification: existing, created: false };
        const notification: Notification = {
          ...draft,
          ...draft.recipient,
          id: String(this.rows.size + 1),
          createdAt: new Date(),
          readAt: null,
          archivedAt: null,
        };
        this.rows.set(key, notification);
        return { notification, created: true };
      }),
    );
  }

  changeState(): Promise<Notification | null> {
    return Promise.resolve(null);
  }
}

/** Muted types by recipientKey, as the real repository answers them. */
class MemoryPreferences implements Pick<PreferencesRepository, 'mutedTypesOf'> {
  readonly muted = new Map<string, string[]>();

  mutedTypesOf(): Promise<Map<string, string[]>> {
    return Promise.resolve(this.muted);
  }
}

const command = (input: object) =>
  validateInput(CreateNotificationCommand, { type: 't', title: 'T', ...input });

describe('NotificationsService', () => {
  let repository: MemoryRepository;
  let preferences: MemoryPreferences;
  let service: NotificationsService;

  beforeEach(() => {
    repository = new MemoryRepository();
    preferences = new MemoryPreferences();
    service = new NotificationsService(
      repository as unknown as NotificationsRepository,
      preferences as unknown as PreferencesRepository,
      new InboxEvents(),
    );
  });

  it('stores one row per recipient and answers per command', async () => {
    const [first, second] = await service.create([
      command({ id: 'k1', recipients: { userIds: ['a', 'b'] }, tenantId: 'acme' }),
      command({ id: 'k2', recipients: { userIds: ['a'] }, priority: 'critical' }),
    ]);
    expect(first.ids).toEqual(['1', '2']);
    expect(first.created.map((n) => [n.userId, n.tenantId, n.priority])).toEqual([
      ['a', 'acme', 'normal'],
      ['b', 'acme', 'normal'],
    ]);
    expect(second.ids).toEqual(['3']);
    expect(second.created[0]).toMatchObject({ userId: 'a', tenantId: null, priority: 'critical' });
  });

  it('answers the existing ids for a repeated key and creates nothing', async () => {
    const [first] = await service.create([command({ id: 'k', recipients: { userIds: ['a'] } })]);
    const [again] = await service.create([command({ id: 'k', recipients: { userIds: ['a'] } })]);
    expect(again).toEqual({ ids: first.ids, created: [] });
  });

  it('gives commands without an id keys of their own', async () => {
    const results = await service.create([
      command({ recipients: { userIds: ['a'] } }),
      command({ recipients: { userIds: ['a'] } }),
    ]);
    expect(results.flatMap((result) => result.created)).toHaveLength(2);
  });

  it('stores nothing for a recipient who muted the type, unless it is critical', async () => {
    preferences.muted.set(recipientKey({ userId: 'quiet', tenantId: null }), ['promo.*']);
    const [promo, critical, other] = await service.create([
      command({ type: 'promo.weekly', recipients: { userIds: ['quiet', 'loud'] } }),
      command({ type: 'promo.weekly', priority: 'critical', recipients: { userIds: ['quiet'] } }),
      command({ type: 'order.shipped', recipients: { userIds: ['quiet'] } }),
    ]);
    expect(promo.created.map((n) => n.userId)).toEqual(['loud']);
    expect(promo.ids).toHaveLength(1);
    expect(critical.created.map((n) => n.userId)).toEqual(['quiet']);
    expect(other.created.map((n) => n.userId)).toEqual(['quiet']);
  });

  it('does not store what expired before it arrived', async () => {
    const [expired, current] = await service.create([
      command({ recipients: { userIds: ['a'] }, expiresAt: '2020-01-01T00:00:00Z' }),
      command({ recipients: { userIds: ['a'] }, expiresAt: '2999-01-01T00:00:00Z' }),
    ]);
    expect(expired).toEqual({ ids: [], created: [] });
    expect(current.created).toHaveLength(1);
  });

  it('refuses a state change that changes nothing, and reports a missing id', async () => {
    const me = { userId: 'a', tenantId: null };
    await expect(service.changeState(me, '1', {})).rejects.toBeInstanceOf(InvalidInputError);
    await expect(service.changeState(me, '1', { read: true })).rejects.toBeInstanceOf(
      NotificationNotFoundError,
    );
  });
});

describe('CreateNotificationCommand', () => {
  it.each([
    [{}, 'recipients should not be null or undefined'],
    [{ recipients: { userIds: [] } }, 'recipients.userIds must contain at least 1 elements'],
    [{ recipients: { userIds: ['a\r\nevent: x'] } }, 'userIds must not contain control characters'],
    [{ recipients: { userIds: ['a'] }, type: 'a b' }, 'type must be 1-100 of [A-Za-z0-9_.:-]'],
    [{ recipients: { userIds: ['a'] }, title: '  ' }, 'title must not be blank'],
    [{ recipients: { userIds: ['a'] }, priority: 'urgent' }, 'priority must be one of'],
    [{ recipients: { userIds: ['a'] }, expiresAt: 'soon' }, 'expiresAt must be a valid ISO 8601'],
    [{ recipients: { userIds: ['a'] }, data: [1] }, 'data must be an object'],
    [{ recipients: { userIds: ['a'] }, extra: 1 }, 'property extra should not exist'],
  ])('refuses %j, naming the field', (input, message) => {
    expect(() => command(input)).toThrow(InvalidInputError);
    expect(() => command(input)).toThrow(message);
  });

  it('refuses input that is not an object', () => {
    expect(() => validateInput(CreateNotificationCommand, [1])).toThrow(
      'the body must be a JSON object',
    );
  });
});
