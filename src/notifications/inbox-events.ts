import { Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { BulkChange, Notification, NotificationState, Recipient } from './notification';

/** What changed in someone's inbox (or their topics), after the commit. */
export type InboxEvent =
  /**
   * `sentAt`: when the producer published it (ms), for the delivery latency metric.
   * `previousId`: the recipient's notification stored just before it (null: none), for streams
   * to send them in order when they arrive out of order; absent on a replay from storage.
   */
  | { kind: 'created'; notification: Notification; sentAt?: number; previousId?: string | null }
  /**
   * The notification's state after a change; the v1.1 fields may be absent in one from an older
   * instance (over the bus).
   */
  | ({
      kind: 'updated';
      recipient: Recipient;
      id: string;
      deleted?: true;
      /** Removed because this newer one replaces it or took it into its group. */
      replacedBy?: string;
    } & Pick<NotificationState, 'readAt' | 'archivedAt'> &
      Partial<NotificationState>)
  /** One event for many rows (read-all): never one per row. */
  | ({ kind: 'bulk-updated'; recipient: Recipient } & BulkChange)
  | { kind: 'subscription'; recipient: Recipient; topic: string; subscribed: boolean };

/**
 * The domain's outbox towards delivery: the notifications service emits here after each commit,
 * and realtime/ subscribes. The domain knows nothing of streams or of who listens.
 */
@Injectable()
export class InboxEvents {
  private readonly subject = new Subject<InboxEvent>();
  readonly events$: Observable<InboxEvent> = this.subject.asObservable();

  emit(event: InboxEvent): void {
    this.subject.next(event);
  }
}
