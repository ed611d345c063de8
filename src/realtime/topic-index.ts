import { Recipient, recipientKey } from '../notifications/notification';

function topicId(tenantId: string | null, topic: string): string {
  return `${tenantId ?? ''}\u0000${topic}`;
}

/**
 * The topics of the recipients connected here, both ways: who here follows a topic (to push a
 * live event), and what a recipient follows (to let go when their last stream closes). Each
 * method answers the topics that appeared here or disappeared from here, for the RealtimeBus to
 * bind or unbind.
 */
export class TopicIndex {
  private readonly followers = new Map<string, Map<string, Recipient>>();
  private readonly followed = new Map<string, Set<string>>();

  add(recipient: Recipient, topic: string): boolean {
    const key = recipientKey(recipient);
    let topics = this.followed.get(key);
    if (!topics) this.followed.set(key, (topics = new Set()));
    topics.add(topic);
    const id = topicId(recipient.tenantId, topic);
    let here = this.followers.get(id);
    const appeared = !here;
    if (!here) this.followers.set(id, (here = new Map<string, Recipient>()));
    here.set(key, recipient);
    return appeared;
  }

  remove(recipient: Recipient, topic: string): boolean {
    const key = recipientKey(recipient);
    const topics = this.followed.get(key);
    topics?.delete(topic);
    if (topics?.size === 0) this.followed.delete(key);
    const id = topicId(recipient.tenantId, topic);
    const here = this.followers.get(id);
    if (!here?.delete(key) || here.size > 0) return false;
    this.followers.delete(id);
    return true;
  }

  /** Forgets the recipient; answers the topics nobody here follows any more. */
  removeAll(recipient: Recipient): string[] {
    const topics = [...(this.followed.get(recipientKey(recipient)) ?? [])];
    return topics.filter((topic) => this.remove(recipient, topic));
  }

  followersOf(tenantId: string | null, topic: string): Iterable<Recipient> {
    return this.followers.get(topicId(tenantId, topic))?.values() ?? [];
  }
}
