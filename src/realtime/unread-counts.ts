import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';
import { Inbox } from '../notifications/inbox/inbox';
import { Recipient, recipientKey, UnreadState } from '../notifications/notification';
import { SeenIds } from './seen-ids';
import { StreamRegistry } from './stream-registry';
import type { StreamSignal } from './stream-signal';

/** Unread counts are recomputed once per burst of changes, for all recipients at once. */
const COUNT_DEBOUNCE_MS = 20;
/** Recipients per unread-count query. */
const COUNT_BATCH = 1000;
/** How often counts that take in a notification due to expire are looked at. */
const EXPIRY_SWEEP_MS = 1000;

type InboxChange = Extract<StreamSignal, { kind: 'created' | 'updated' | 'bulk-updated' }>;

/** Counts sent, the notifications they take in, and when they last went up by one. */
interface CountSent {
  count: number;
  unseen: number;
  counted: SeenIds;
  /** `UnreadCounts.increments` at its last +1; 0 for a count read from storage. */
  incremented: number;
}

/** A count read from storage: it takes in every notification up to the newest it saw. */
function countOf(state: UnreadState): CountSent {
  const { count, unseen } = state;
  return { count, unseen, counted: new SeenIds(state.position), incremented: 0 };
}

/**
 * The unread and unseen counts of every recipient with a stream here, kept equal on all their
 * tabs. A new notification's counts go out with it: the last counts sent plus one (it is unread
 * and unseen) when they do not take it in yet, unchanged otherwise (counts read from storage
 * take in every id up to the newest they saw, as ids of a recipient grow in commit order; one
 * counted since is remembered by id, as they may arrive out of order: SeenIds). Other changes
 * (read, seen, archived, snoozed, deleted) and expiries are recounted in the database once per
 * burst, for all recipients of the burst at once, and sent when a count differs from the last
 * one sent.
 */
@Injectable()
export class UnreadCounts implements OnModuleDestroy {
  private readonly logger = new Logger(UnreadCounts.name);
  private readonly due = new Map<string, Recipient>();
  /**
   * The count last sent to every stream of a recipient here, when all got the same, and the
   * notifications it takes in.
   */
  private readonly sent = new Map<string, CountSent>();
  /** Every +1 of any count: a recount read before a count's last +1 may not take it in. */
  private increments = 0;
  private countTimer?: NodeJS.Timeout;
  /**
   * When each count sent here next loses a notification to expiry (the earliest `expiresAt` it
   * takes in): it is read again then, as an expiry is a change no event announces.
   */
  private readonly expiries = new Map<string, { recipient: Recipient; at: number }>();
  private expiryTimer?: NodeJS.Timeout;

  constructor(
    private readonly registry: StreamRegistry,
    private readonly inbox: Inbox,
  ) {}

  onModuleDestroy(): void {
    clearTimeout(this.countTimer);
    clearInterval(this.expiryTimer);
  }

  /** A new stream of the recipient sent `state.count` as its first unread count. */
  opened(recipient: Recipient, state: UnreadState): void {
    const key = recipientKey(recipient);
    const sent = this.sent.get(key);
    if (this.registry.streamsOf(recipient) === 1) this.countRead(recipient, state);
    else if (
      sent?.count !== state.count ||
      sent.unseen !== state.unseen ||
      sent.counted.newest !== state.position
    ) {
      // Its tabs started from different counts: a recount tells them all the same one.
      this.sent.delete(key);
      this.countSoon(recipient);
    }
  }

  /** Reads the recipient's count again soon, and sends it if it is not the one sent. */
  recount(recipient: Recipient): void {
    this.countSoon(recipient);
  }

  /** After the recipient's last stream here closed. */
  forget(recipient: Recipient): void {
    const key = recipientKey(recipient);
    this.sent.delete(key);
    this.expiries.delete(key);
  }

  /** `change` was just delivered to the streams of its recipient here. */
  changed(recipient: Recipient, change: InboxChange): void {
    const sent = this.sent.get(recipientKey(recipient));
    if (change.kind !== 'created' || sent === undefined) {
      this.countSoon(recipient);
      return;
    }
    const seen = sent.counted.add(change.notification.id);
    if (seen === 'new') {
      // Sent in the same tick as the notification, so both leave in one write per stream.
      sent.count += 1;
      sent.unseen += 1;
      sent.incremented = ++this.increments;
      this.expiresAt(recipient, change.notification.expiresAt);
      const { count, unseen } = sent;
      this.registry.deliver(recipient, { kind: 'unread-count', count, unseen });
    } else if (seen === 'unknown') {
      this.countSoon(recipient); // too late to tell whether the count took it in
    } // else the count sent takes it in already
  }

  /** The count read from storage is now the one sent to the recipient's streams here. */
  private countRead(recipient: Recipient, state: UnreadState): void {
    const key = recipientKey(recipient);
    this.sent.set(key, countOf(state));
    this.expiries.delete(key);
    this.expiresAt(recipient, state.nextExpiry);
  }

  /** The count sent takes in a notification that expires at `at` (a Date, or its JSON). */
  private expiresAt(recipient: Recipient, at: Date | string | null | undefined): void {
    if (!at) return;
    const time = new Date(at).getTime();
    const key = recipientKey(recipient);
    const known = this.expiries.get(key);
    if (known && known.at <= time) return;
    this.expiries.set(key, { recipient, at: time });
    this.expiryTimer ??= setInterval(() => this.sweepExpiries(), EXPIRY_SWEEP_MS).unref();
  }

  private sweepExpiries(): void {
    const now = Date.now();
    for (const [key, { recipient, at }] of this.expiries) {
      if (at > now) continue;
      this.expiries.delete(key);
      this.countSoon(recipient);
    }
    if (this.expiries.size === 0) {
      clearInterval(this.expiryTimer);
      this.expiryTimer = undefined;
    }
  }

  private countSoon(recipient: Recipient): void {
    this.due.set(recipientKey(recipient), recipient);
    this.countTimer ??= setTimeout(() => {
      this.countTimer = undefined;
      void this.sendCounts();
    }, COUNT_DEBOUNCE_MS);
  }

  private async sendCounts(): Promise<void> {
    const due = [...this.due.values()];
    this.due.clear();
    for (let start = 0; start < due.length; start += COUNT_BATCH) {
      const batch = due.slice(start, start + COUNT_BATCH);
      try {
        const readFrom = this.increments;
        const states = await this.inbox.unreadStates(batch);
        for (const recipient of batch) this.recounted(recipient, states, readFrom);
      } catch (error) {
        this.logger.warn(`Unread counts failed: ${String(error)}`);
      }
    }
  }

  private recounted(recipient: Recipient, states: Map<string, UnreadState>, readFrom: number) {
    if (!this.registry.isConnected(recipient)) return;
    const key = recipientKey(recipient);
    const state = states.get(key) ?? { count: 0, unseen: 0, position: '0' };
    const sent = this.sent.get(key);
    if (sent && sent.incremented > readFrom) {
      // A notification was counted while this count was read: it may be behind, count again.
      this.countSoon(recipient);
      return;
    }
    this.countRead(recipient, state);
    if (sent?.count !== state.count || sent.unseen !== state.unseen) {
      const { count, unseen } = state;
      this.registry.deliver(recipient, { kind: 'unread-count', count, unseen });
    }
  }
}
