/** A notification held until `deliverAt`; `command` is the validated command, as JSON. */
export interface ScheduledNotification {
  tenantId: string | null;
  /** The command's id (its idempotency key): what an admin cancels it by. */
  id: string;
  /**
   * Whom the command names, as a digest: one id is one notification per recipient, so the same id
   * scheduled for other recipients is another entry, and the same message again is the same one.
   */
  recipientsKey: string;
  command: Record<string, unknown>;
  deliverAt: Date;
  createdAt: Date;
}

/** Storage of scheduled notifications; implemented over Drizzle in scheduled-drizzle.repository.ts. */
export abstract class ScheduledRepository {
  /** Stores them; one already held under the same tenant, id and recipients is kept as it is. */
  abstract schedule(entries: Omit<ScheduledNotification, 'createdAt'>[]): Promise<void>;

  /**
   * Claims up to `limit` due entries for `leaseMs`, earliest first: no other instance takes them
   * until the lease ends, and an instance that dies mid-delivery leaves them to the others.
   */
  abstract claimDue(limit: number, leaseMs: number): Promise<ScheduledNotification[]>;

  /** Removes an entry once delivered. */
  abstract remove(
    entry: Pick<ScheduledNotification, 'tenantId' | 'id' | 'recipientsKey'>,
  ): Promise<void>;

  /** Cancels whatever is held under the id, for any recipients; false when there is none. */
  abstract cancel(tenantId: string | null, id: string): Promise<boolean>;

  /** Entries still held, soonest first. */
  abstract list(tenantId: string | null, limit: number): Promise<ScheduledNotification[]>;
}
