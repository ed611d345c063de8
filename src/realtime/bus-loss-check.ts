import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Subscription } from 'rxjs';
import { Inbox } from '../notifications/inbox/inbox';
import { Recipient, recipientKey, UnreadState } from '../notifications/notification';
import { RealtimeBus } from './realtime-bus';
import { BUS_AWAY, Stream } from './stream';
import { Streams } from './streams';
import { UnreadCounts } from './unread-counts';

/** Recipients read per query, one query after the other. */
const BATCH = 500;
/** Reads of a batch before its streams end anyway (storage away too), a second apart. */
const ATTEMPTS = 3;
const RETRY_MS = 1000;

/**
 * After the realtime bus may have lost messages (RealtimeBus.lost$): what other instances
 * published for the users here meanwhile is gone. A stream that lost a notification would learn
 * it from the next one (a gap), but the last of a burst has none. So each stream is told what
 * storage holds for its user (Stream.expectSent: one not sent within 5 s ends, and its client
 * replays), and the unread counts are read again. Where nothing was lost (one instance, or
 * nothing stored elsewhere meanwhile), no stream ends. One check at a time: a loss announced
 * while one runs makes one more run after it.
 */
@Injectable()
export class BusLossCheck implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger(BusLossCheck.name);
  private subscription?: Subscription;
  private running = false;
  private again = false;

  constructor(
    private readonly bus: RealtimeBus,
    private readonly streams: Streams,
    private readonly inbox: Inbox,
    private readonly counts: UnreadCounts,
  ) {}

  onModuleInit(): void {
    this.subscription = this.bus.lost$.subscribe(() => this.request());
  }

  onModuleDestroy(): void {
    this.subscription?.unsubscribe();
  }

  private request(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    this.check()
      .catch((error: unknown) => this.logger.warn(`Streams not checked: ${String(error)}`))
      .finally(() => {
        this.running = false;
        if (!this.again) return;
        this.again = false;
        this.request();
      });
  }

  private async check(): Promise<void> {
    const byRecipient = new Map<string, { recipient: Recipient; streams: Stream[] }>();
    for (const stream of this.streams.all()) {
      const key = recipientKey(stream.user);
      const entry = byRecipient.get(key) ?? { recipient: stream.user, streams: [] };
      entry.streams.push(stream);
      byRecipient.set(key, entry);
    }
    const entries = [...byRecipient.values()];
    let behind = 0;
    let ended = 0;
    for (let start = 0; start < entries.length; start += BATCH) {
      const batch = entries.slice(start, start + BATCH);
      const states = await this.read(batch.map((entry) => entry.recipient));
      for (const { recipient, streams } of batch) {
        for (const stream of streams) {
          if (states === undefined) {
            stream.endForReconnect(BUS_AWAY);
            ended += 1;
          } else if (stream.expectSent(states.get(recipientKey(recipient))?.position ?? '0')) {
            behind += 1;
          }
        }
        if (states) this.counts.recount(recipient);
      }
    }
    if (behind + ended === 0) return;
    this.logger.warn(
      `The realtime bus may have lost messages: ${behind} streams await notifications stored ` +
        `meanwhile (ended in 5 s if they do not come), ${ended} ended (storage unreadable)`,
    );
  }

  private async read(recipients: Recipient[]): Promise<Map<string, UnreadState> | undefined> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.inbox.unreadStates(recipients);
      } catch (error) {
        if (attempt === ATTEMPTS) {
          this.logger.warn(`Streams of ${recipients.length} users end: ${String(error)}`);
          return undefined;
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }
}
