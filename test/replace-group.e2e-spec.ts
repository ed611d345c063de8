import fc from 'fast-check';
import { validateInput } from '../src/common/validation';
import { Inbox } from '../src/notifications/inbox/inbox';
import { CreateNotificationCommand } from '../src/notifications/intake/create-notification.command';
import { Intake, KeyedCommand } from '../src/notifications/intake/intake';
import { MAX_ACTORS } from '../src/notifications/notification';
import { RunningHerald, startHerald } from './support/herald';
import { STORAGE_KINDS } from './support/storage';

/** One step of a generated scenario for two users. */
type Step =
  | {
      kind: 'send';
      user: number;
      shape: 'plain' | 'collapse' | 'group';
      key: string;
      actor: string | null;
      /** Send the message of an earlier step again (a redelivery), when there is one. */
      again: number | null;
    }
  | { kind: 'read'; user: number; pick: number }
  /** The messages since the last cut are stored as one batch (one transaction). */
  | { kind: 'cut' };

const step: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      user: fc.integer({ min: 0, max: 1 }),
      shape: fc.constantFrom('plain' as const, 'collapse' as const, 'group' as const),
      key: fc.constantFrom('a', 'b'),
      actor: fc.constantFrom('Ada', 'Bob', 'Cy', 'Dee', 'Eve', 'Fay', null),
      again: fc.oneof(
        { weight: 5, arbitrary: fc.constant(null) },
        { weight: 1, arbitrary: fc.nat(40) },
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      user: fc.integer({ min: 0, max: 1 }),
      pick: fc.nat(20),
    }),
  },
  { weight: 2, arbitrary: fc.constant({ kind: 'cut' as const }) },
);

/** A notification as the model holds it. */
interface Item {
  key: string;
  title: string;
  collapseKey: string | null;
  groupKey: string | null;
  groupCount: number;
  actors: string[];
  read: boolean;
  deleted: boolean;
  /** Its id once stored. */
  id?: string;
}

/** What Herald should hold: each user's notifications in the order they were stored. */
class Model {
  readonly items: Item[][] = [[], []];

  store(user: number, message: Message): void {
    const items = this.items[user];
    if (items.some((item) => item.key === message.id)) return; // idempotent: nothing, not even a replace
    const live = items.filter((item) => !item.deleted);
    const newest = (match: (item: Item) => boolean) => live.filter(match).at(-1);
    let groupCount = 1;
    let actors = message.group?.actor ? [message.group.actor] : [];
    if (message.collapseKey) {
      const old = newest((item) => item.collapseKey === message.collapseKey);
      if (old) old.deleted = true;
    } else if (message.group) {
      const old = newest((item) => item.groupKey === message.group!.key);
      if (old && !old.read) {
        old.deleted = true;
        groupCount = old.groupCount + 1;
        const actor = message.group.actor;
        actors = (
          actor ? [actor, ...old.actors.filter((each) => each !== actor)] : old.actors
        ).slice(0, MAX_ACTORS);
      }
    }
    items.push({
      key: message.id,
      title: message.title,
      collapseKey: message.collapseKey ?? null,
      groupKey: message.group?.key ?? null,
      groupCount,
      actors,
      read: false,
      deleted: false,
    });
  }
}

interface Message {
  id: string;
  type: string;
  title: string;
  recipients: { userIds: string[] };
  collapseKey?: string;
  group?: { key: string; actor?: string };
}

/**
 * Replace and group against a reference model: generated sends (some redelivered), reads and
 * batch boundaries for two users, stored through the real Intake into real storage; after each
 * batch, each user's inbox (and its unread count) is what the model says, in order.
 */
describe.each(STORAGE_KINDS)('replace and group against a model on %s', (storage) => {
  let herald: RunningHerald;
  let run = 0;

  beforeAll(async () => {
    herald = await startHerald({ storage });
  });

  afterAll(() => herald?.close());

  it('keeps exactly what the model keeps, in order, for generated scenarios', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(step, { minLength: 5, maxLength: 40, size: 'max' }),
        async (steps) => {
          run += 1;
          const users = [`rg-${run}-0`, `rg-${run}-1`];
          const model = new Model();
          const sent: { user: number; message: Message }[] = [];
          let batch: { user: number; message: Message }[] = [];
          const inbox = herald.app.get(Inbox);
          const flush = async () => {
            if (batch.length === 0) return;
            const commands = batch.map(
              ({ message }) => validateInput(CreateNotificationCommand, message) as KeyedCommand,
            );
            const results = await herald.app.get(Intake).create(commands);
            for (const [index, { user, message }] of batch.entries()) {
              model.store(user, message);
              const item = model.items[user].find((each) => each.key === message.id)!;
              item.id ??= results[index].ids[0];
            }
            batch = [];
            await compare();
          };
          const compare = async () => {
            for (const [user, userId] of users.entries()) {
              const recipient = { userId, tenantId: null };
              const page = await inbox.list(recipient, { limit: 100, status: 'all' });
              const got = page.items.map((item) => ({
                title: item.title,
                groupCount: item.groupCount,
                actors: item.actors,
                read: item.readAt !== null,
              }));
              const wanted = model.items[user]
                .filter((item) => !item.deleted)
                .reverse()
                .map(({ title, groupCount, actors, read }) => ({
                  title,
                  groupCount,
                  actors,
                  read,
                }));
              expect(got).toEqual(wanted);
              expect(await inbox.unreadCount(recipient)).toBe(
                wanted.filter((it) => !it.read).length,
              );
            }
          };
          for (const [n, each] of steps.entries()) {
            if (each.kind === 'cut') {
              await flush();
            } else if (each.kind === 'read') {
              await flush();
              const live = model.items[each.user].filter((item) => !item.deleted && item.id);
              const target = live[each.pick % Math.max(1, live.length)];
              if (!target) continue;
              await inbox.changeState({ userId: users[each.user], tenantId: null }, target.id!, {
                read: true,
              });
              target.read = true;
            } else {
              const earlier =
                each.again === null ? undefined : sent[each.again % (sent.length || 1)];
              const message: Message = earlier?.message ?? {
                id: `m-${n}`,
                type: 'test.model',
                title: `${each.shape} ${each.key} ${n}`,
                recipients: { userIds: [users[each.user]] },
                ...(each.shape === 'collapse' && { collapseKey: each.key }),
                ...(each.shape === 'group' && {
                  group: { key: each.key, ...(each.actor && { actor: each.actor }) },
                }),
              };
              const user = earlier?.user ?? each.user;
              sent.push({ user, message });
              batch.push({ user, message });
            }
          }
          await flush();
        },
      ),
      { numRuns: Number(process.env.HERALD_REPLACE_RUNS ?? 60), endOnFailure: true },
    );
  }, 120_000);
});
