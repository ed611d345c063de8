import fc from 'fast-check';
import { StorageUnavailableError } from '../../database/storage-errors';
import { validateInput } from '../../common/validation';
import type { HeraldConfig } from '../../config/herald-config';
import type { HeraldMetrics } from '../../metrics/herald-metrics';
import { CreateNotificationCommand } from './create-notification.command';
import type { CreateResult, Intake, KeyedCommand } from './intake';
import { NotificationBatcher } from './notification-batcher';

const USERS = ['a', 'b', 'c', 'd', 'e'];

/** A transaction of the fake store: its commands, and what it overlapped with while it ran. */
interface Transaction {
  commands: KeyedCommand[];
}

/** Commits each call after a delay the test chose; records commit order and what ran at once. */
class FakeIntake {
  readonly committed: KeyedCommand[] = [];
  readonly running = new Set<Transaction>();
  readonly overlaps: string[] = [];
  calls = 0;

  constructor(
    private readonly delays: number[],
    private readonly failures = new Set<number>(),
  ) {}

  async create(commands: KeyedCommand[]): Promise<CreateResult[]> {
    const call = this.calls++;
    const transaction = { commands };
    for (const other of this.running) {
      const shared = recipientsOf(commands).filter(
        (user) => user === '*' || recipientsOf(other.commands).includes(user),
      );
      if (shared.length > 0 || recipientsOf(other.commands).includes('*')) {
        this.overlaps.push(`${ids(commands)} ran with ${ids(other.commands)}`);
      }
    }
    this.running.add(transaction);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.delays[call % this.delays.length]));
      if (this.failures.has(call)) throw new StorageUnavailableError(new Error('down'));
      this.committed.push(...commands);
      return commands.map((command) => ({ ids: [command.id], created: 1 }));
    } finally {
      this.running.delete(transaction);
    }
  }
}

/** '*' for a topic or broadcast: anyone. */
function recipientsOf(commands: KeyedCommand[]): string[] {
  return commands.flatMap((command) =>
    command.recipients.topics ? ['*'] : (command.recipients.userIds ?? []),
  );
}

const ids = (commands: KeyedCommand[]) => commands.map((command) => command.id).join(',');

function batcherOver(intake: FakeIntake, maxAttempts = 1): NotificationBatcher {
  const config = { ingest: { maxAttempts } } as HeraldConfig;
  const metrics = { ingested: { inc: () => undefined } } as unknown as HeraldMetrics;
  return new NotificationBatcher(intake as unknown as Intake, config, metrics);
}

const message = fc.oneof(
  { weight: 5, arbitrary: fc.subarray(USERS, { minLength: 1 }).map((userIds) => ({ userIds })) },
  { weight: 1, arbitrary: fc.constant({ topics: ['news'] }) },
);

/** Arrival waves: the messages of one wave arrive in the same turn of the event loop. */
const waves = fc.array(fc.array(message, { minLength: 1, maxLength: 6 }), {
  minLength: 1,
  maxLength: 8,
});

describe('NotificationBatcher', () => {
  it('stores what each recipient is sent in the order it arrived, and never overlaps two batches of one recipient', async () => {
    await fc.assert(
      fc.asyncProperty(
        waves,
        fc.array(fc.nat(4), { minLength: 1, maxLength: 10 }),
        async (arrivals, delays) => {
          const intake = new FakeIntake(delays);
          const batcher = batcherOver(intake);
          const sent: KeyedCommand[] = [];
          const stored: Promise<CreateResult>[] = [];
          for (const wave of arrivals) {
            for (const recipients of wave) {
              const command = validateInput(CreateNotificationCommand, {
                id: `m${sent.length}`,
                type: 't',
                title: 'T',
                recipients,
              }) as KeyedCommand;
              sent.push(command);
              stored.push(batcher.store(command));
            }
            await new Promise((resolve) => setImmediate(resolve));
          }
          await Promise.all(stored);

          expect(intake.overlaps).toEqual([]);
          for (const user of USERS) {
            const forUser = (commands: KeyedCommand[]) =>
              commands
                .filter((c) => recipientsOf([c]).some((r) => r === user || r === '*'))
                .map((c) => c.id);
            expect(forUser(intake.committed)).toEqual(forUser(sent));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('keeps the order while a batch is retried after an outage', async () => {
    // The first transaction fails once; the second message, to the same user, must wait for it.
    const intake = new FakeIntake([5, 0], new Set([0]));
    const batcher = batcherOver(intake, 3);
    const first = validateInput(CreateNotificationCommand, {
      id: 'first',
      type: 't',
      title: 'T',
      recipients: { userIds: ['a'] },
    });
    const firstStored = batcher.store(first);
    await new Promise((resolve) => setImmediate(resolve));
    const second = validateInput(CreateNotificationCommand, {
      id: 'second',
      type: 't',
      title: 'T',
      recipients: { userIds: ['a', 'b'] },
    });
    await Promise.all([firstStored, batcher.store(second)]);
    expect(intake.committed.map((command) => command.id)).toEqual(['first', 'second']);
  });

  it('fixes the key of a message without id once, for every retry', async () => {
    const intake = new FakeIntake([0], new Set([0, 1]));
    const batcher = batcherOver(intake, 3);
    const seen: string[] = [];
    const create = intake.create.bind(intake);
    intake.create = (commands) => {
      seen.push(...commands.map((command) => command.id));
      return create(commands);
    };
    const command = validateInput(CreateNotificationCommand, {
      type: 't',
      title: 'T',
      recipients: { userIds: ['a'] },
    });
    await batcher.store(command);
    expect(seen).toHaveLength(3);
    expect(new Set(seen).size).toBe(1);
  });
});
