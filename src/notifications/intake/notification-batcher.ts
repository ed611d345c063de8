import { randomUUID } from 'node:crypto';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { HeraldConfig } from '../../config/herald-config';
import { HeraldMetrics } from '../../metrics/herald-metrics';
import { UnavailableError } from '../../common/domain-error';
import { fansOut } from '../addressed-message';
import { CreateNotificationCommand } from './create-notification.command';
import { CreateResult, Intake, KeyedCommand } from './intake';
import { recipientKey } from '../notification';

/** Most commands stored in one transaction. */
const MAX_BATCH = 500;
/** Transactions in flight at once; PGlite runs them one after another anyway. */
const MAX_CONCURRENT = 2;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5000;

interface Pending {
  command: KeyedCommand;
  /** Whom it names (recipientKey), or null for a topic or a broadcast: anyone, known later. */
  recipients: string[] | null;
  resolve: (result: CreateResult) => void;
  reject: (error: unknown) => void;
}

/** The batcher is stopping: the command was not stored and must be delivered again. */
export class BatcherStoppedError extends UnavailableError {
  constructor() {
    super('shutting down: not stored');
  }
}

/**
 * Groups commands that arrive together into one transaction each, so ingest pays one commit per
 * batch rather than per message; each caller still gets its own result, after the commit.
 *
 * Order: commands are stored in the order they came, per recipient. Two batches run at once only
 * when they share no recipient (a later one could otherwise take the recipient's lock first, and
 * ids follow commit order); a command that shares one with a batch under way waits for it, and so
 * does every later command that shares one with a waiting command. A topic or broadcast, whose
 * recipients are known only as it fans out, is stored alone, after everything before it and
 * before everything after it.
 *
 * While storage is unavailable a batch is retried with exponential backoff (100 ms doubling to
 * 5 s) up to INGEST_MAX_ATTEMPTS; then its callers get the UnavailableError. A batch that fails
 * for any other reason is split and retried one command at a time, so one bad command cannot fail
 * its neighbours.
 */
@Injectable()
export class NotificationBatcher implements BeforeApplicationShutdown {
  private readonly logger = new Logger(NotificationBatcher.name);
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  /** Recipients of the batches under way (a key per batch naming it); null: one fans out. */
  private busy: Map<string, number> | null = new Map();
  private scheduled = false;
  private stopped = false;
  private readonly retryTimers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  constructor(
    private readonly intake: Intake,
    private readonly config: HeraldConfig,
    private readonly metrics: HeraldMetrics,
  ) {}

  /**
   * A command without `id` gets its idempotency key here, once, so that what one attempt stored
   * is not stored again by a retry or a split (a redelivery by the broker is a new arrival: the
   * producer gave no key to recognise it by).
   */
  store(command: CreateNotificationCommand): Promise<CreateResult> {
    if (this.stopped) return Promise.reject(new BatcherStoppedError());
    const keyed = Object.assign(command, { id: command.id ?? randomUUID() });
    const recipients = fansOut(keyed.recipients)
      ? null
      : (keyed.recipients.userIds ?? []).map((userId) =>
          recipientKey({ userId, tenantId: keyed.tenantId || null }),
        );
    return new Promise((resolve, reject) => {
      this.queue.push({ command: keyed, recipients, resolve, reject });
      this.schedule();
    });
  }

  /**
   * Before the transport closes: transactions under way finish (and their messages are
   * acknowledged); queued commands and those waiting to retry fail with BatcherStoppedError, so
   * their messages stay unacknowledged and the broker redelivers them.
   */
  beforeApplicationShutdown(): void {
    this.stopped = true;
    for (const pending of this.queue.splice(0)) pending.reject(new BatcherStoppedError());
    for (const sleeper of this.retryTimers) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
  }

  /** Waits for the I/O of this turn of the event loop to queue its commands, then flushes. */
  private schedule(): void {
    if (this.scheduled || this.inFlight >= MAX_CONCURRENT || this.queue.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      while (this.inFlight < MAX_CONCURRENT) {
        const batch = this.nextBatch();
        if (batch.length === 0) return;
        void this.flush(batch);
      }
    });
  }

  /**
   * Takes from the queue, in order, the commands that may be stored now (see the class comment);
   * the rest keep their places.
   */
  private nextBatch(): Pending[] {
    const busy = this.busy;
    if (busy === null) return []; // a fan-out is under way: everything after it waits
    const batch: Pending[] = [];
    const waiting = new Set<string>();
    let index = 0;
    for (; index < this.queue.length && batch.length < MAX_BATCH; index += 1) {
      const { recipients } = this.queue[index];
      if (recipients === null) {
        // Alone, and only when nothing is under way or waiting before it.
        if (batch.length === 0 && this.inFlight === 0 && index === 0) {
          this.busy = null;
          return this.queue.splice(0, 1);
        }
        break;
      }
      if (recipients.some((key) => busy.has(key) || waiting.has(key))) {
        for (const key of recipients) waiting.add(key);
      } else {
        batch.push(this.queue[index]);
      }
    }
    const taken = new Set(batch);
    this.queue.splice(0, index, ...this.queue.slice(0, index).filter((each) => !taken.has(each)));
    for (const { recipients } of batch) {
      for (const key of recipients!) busy.set(key, (busy.get(key) ?? 0) + 1);
    }
    return batch;
  }

  /** The batch's recipients may be stored by the next batches. */
  private release(batch: Pending[]): void {
    if (this.busy === null) {
      this.busy = new Map();
      return;
    }
    for (const { recipients } of batch) {
      for (const key of recipients!) {
        const left = this.busy.get(key)! - 1;
        if (left === 0) this.busy.delete(key);
        else this.busy.set(key, left);
      }
    }
  }

  private async flush(batch: Pending[]): Promise<void> {
    this.inFlight += 1;
    try {
      const results = await this.withRetries(() =>
        this.intake.create(batch.map((pending) => pending.command)),
      );
      batch.forEach((pending, index) => settle(pending, results[index]));
    } catch (error) {
      if (batch.length > 1 && !(error instanceof UnavailableError)) {
        // Find the culprit: store the rest one by one.
        this.logger.warn(
          `A batch of ${batch.length} failed (${(error as Error).message}); storing one by one`,
        );
        for (const pending of batch) await this.flushOne(pending);
      } else {
        batch.forEach((pending) => pending.reject(error));
      }
    } finally {
      this.release(batch);
      this.inFlight -= 1;
      this.schedule();
    }
  }

  private async flushOne(pending: Pending): Promise<void> {
    try {
      const [result] = await this.withRetries(() => this.intake.create([pending.command]));
      settle(pending, result);
    } catch (error) {
      pending.reject(error);
    }
  }

  private async withRetries<T>(work: () => Promise<T>): Promise<T> {
    const attempts = this.config.ingest.maxAttempts;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await work();
      } catch (error) {
        if (!(error instanceof UnavailableError) || attempt >= attempts || this.stopped) {
          throw this.stopped ? new BatcherStoppedError() : error;
        }
        const delay = Math.min(FIRST_RETRY_MS * 2 ** (attempt - 1), MAX_RETRY_MS);
        this.metrics.ingested.inc({ outcome: 'retried' });
        this.logger.warn(
          `${error.message}; attempt ${attempt}/${attempts}, retrying in ${delay} ms`,
        );
        await this.sleep(delay);
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        wake: () => {
          this.retryTimers.delete(sleeper);
          resolve();
        },
        timer: setTimeout(() => sleeper.wake(), ms),
      };
      this.retryTimers.add(sleeper);
    });
  }
}

/** Resolves with the result, or rejects with why its command was refused. */
function settle(pending: Pending, result: CreateResult): void {
  if (result.refused) pending.reject(result.refused);
  else pending.resolve(result);
}
