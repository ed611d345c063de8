import { Injectable } from '@nestjs/common';
import { turnBatch } from '../common/turn-batch';
import { AudienceRepository } from './audience.repository';
import { InboxEvents } from './inbox-events';
import { Recipient, recipientKey } from './notification';

/**
 * Topic subscriptions. A notification to a topic is stored for each subscriber at ingest
 * (IntakeService); a live event to a topic reaches the subscribers connected at that moment, so
 * every change is announced on InboxEvents for the streams of the user to follow.
 */
@Injectable()
export class TopicsService {
  constructor(
    private readonly audience: AudienceRepository,
    private readonly events: InboxEvents,
  ) {}

  /** Batched per turn: streams opening together read their topics in one query. */
  readonly topicsOf: (recipient: Recipient) => Promise<string[]> = turnBatch(async (recipients) => {
    const topics = await this.audience.topicsOf([...recipients]);
    return recipients.map((recipient) => topics.get(recipientKey(recipient)) ?? []);
  });

  /** Idempotent: answers false when the recipient was subscribed already. */
  async subscribe(recipient: Recipient, topic: string): Promise<boolean> {
    await this.audience.remember([recipient]);
    const added = await this.audience.subscribe(recipient, topic);
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
