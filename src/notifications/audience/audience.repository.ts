import type { Recipient } from '../notification';

/** One member of a fan-out: a user, and the topic that brought them in (null for a broadcast). */
export interface AudienceMember {
  userId: string;
  topic: string | null;
}

/** Whom a fan-out reaches: the subscribers of some topics, or every known user of the tenant. */
export interface Audience {
  tenantId: string | null;
  topics: string[];
  broadcast: boolean;
}

/** `held`: subscribed already; `full`: not subscribed, and holding the most topics allowed. */
export type SubscribeOutcome = 'added' | 'held' | 'full';

/**
 * Topic subscriptions and known users: who a topic or a broadcast reaches. Implemented over
 * Drizzle in audience-drizzle.repository.ts.
 */
export abstract class AudienceRepository {
  /**
   * Subscribes unless the recipient holds `maxTopics` others already. Race-free: concurrent
   * calls for one recipient never take it past `maxTopics` together.
   */
  abstract subscribe(
    recipient: Recipient,
    topic: string,
    maxTopics: number,
  ): Promise<SubscribeOutcome>;

  /** Answers false when the recipient was not subscribed. */
  abstract unsubscribe(recipient: Recipient, topic: string): Promise<boolean>;

  /** Each recipient's topics, by name, keyed by recipientKey (none: no entry). */
  abstract topicsOf(recipients: Recipient[]): Promise<Map<string, string[]>>;

  /** One page of a recipient's topics, by name, after `afterTopic`. */
  abstract topicsPage(
    recipient: Recipient,
    afterTopic: string | undefined,
    limit: number,
  ): Promise<string[]>;

  /** A topic's subscribers by user id, a page at a time (after `afterUserId`). */
  abstract subscribers(
    tenantId: string | null,
    topic: string,
    afterUserId: string | undefined,
    limit: number,
  ): Promise<string[]>;

  /**
   * One page of an audience, each user once, in user id order after `afterUserId`: fan-out reads
   * a large audience in pages rather than holding it all.
   */
  abstract page(
    audience: Audience,
    afterUserId: string | undefined,
    limit: number,
  ): Promise<AudienceMember[]>;

  /** Records users as known (a broadcast reaches them from now on); known ones are left alone. */
  abstract remember(recipients: Recipient[]): Promise<void>;
}
