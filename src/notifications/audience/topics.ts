import { Injectable } from '@nestjs/common';
import { turnBatch } from '../../common/turn-batch';
import { HeraldConfig } from '../../config/herald-config';
import { AudienceRepository } from './audience.repository';
import { InboxEvents } from '../inbox-events';
import { Recipient, recipientKey } from '../notification';
import { TopicLimitError } from '../notification.errors';

/** One page of a user's topics, by name; `nextCursor` (the last topic) continues after it. */
export interface TopicsPage {
  topics: string[];
  nextCursor: string | null;
}

/**
 * Topic subscriptions. A notification to a topic is stored for each subscriber at ingest
 * (Intake); a live event to a topic reaches the subscribers connected at that moment, so
 * every change is announced on InboxEvents for the streams of the user to follow.
 */
@Injectable()
export class Topics {
  /** TOPICS_MAX_PER_USER: bounds what a user holds, and so the routing keys a stream binds. */
  readonly maxPerUser: number;

  constructor(
    private readonly audience: AudienceRepository,
    private readonly events: InboxEvents,
    config: HeraldConfig,
  ) {
    this.maxPerUser = config.topics.maxPerUser;
  }

  /** Batched per turn: streams opening together read their topics in one query. */
  readonly topicsOf: (recipient: Recipient) => Promise<string[]> = turnBatch(async (recipients) => {
    const topics = await this.audience.topicsOf([...recipients]);
    return recipients.map((recipient) => topics.get(recipientKey(recipient)) ?? []);
  });

  /**
   * A page of the recipient's topics by name. The default limit is the cap, so that one page
   * holds every topic (unless the cap was lowered under a user holding more).
   */
  async page(
    recipient: Recipient,
    afterTopic: string | undefined,
    limit = this.maxPerUser,
  ): Promise<TopicsPage> {
    const topics = await this.audience.topicsPage(recipient, afterTopic, limit + 1);
    if (topics.length <= limit) return { topics, nextCursor: null };
    return { topics: topics.slice(0, limit), nextCursor: topics[limit - 1] };
  }

  /**
   * Idempotent: answers false when the recipient was subscribed already. A new topic past
   * TOPICS_MAX_PER_USER throws TopicLimitError (409).
   */
  async subscribe(recipient: Recipient, topic: string): Promise<boolean> {
    await this.audience.remember([recipient]);
    const outcome = await this.audience.subscribe(recipient, topic, this.maxPerUser);
    if (outcome === 'full') throw new TopicLimitError(this.maxPerUser);
    const added = outcome === 'added';
    if (added) this.events.emit({ kind: 'subscription', recipient, topic, subscribed: true });
    return added;
  }

  /** Idempotent: answers false when the recipient was not subscribed. */
  async unsubscribe(recipient: Recipient, topic: string): Promise<boolean> {
    const removed = await this.audience.unsubscribe(recipient, topic);
    if (removed) this.events.emit({ kind: 'subscription', recipient, topic, subscribed: false });
    return removed;
  }

  subscribers(
    tenantId: string | null,
    topic: string,
    afterUserId: string | undefined,
    limit: number,
  ): Promise<string[]> {
    return this.audience.subscribers(tenantId, topic, afterUserId, limit);
  }
}
