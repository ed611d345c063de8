import { Injectable } from '@nestjs/common';
import { Recipient, recipientKey } from '../notifications/notification';

export type StreamListener<T> = (event: T) => void;

interface Entry<T> {
  recipient: Recipient;
  listeners: Set<StreamListener<T>>;
}

/** Who is connected here: recipient → that recipient's open streams (every tab). */
@Injectable()
export class StreamRegistry<T = unknown> {
  private readonly streams = new Map<string, Entry<T>>();
  /** Streams accepted but not added yet, per recipient: they count toward the cap. */
  private readonly reserved = new Map<string, number>();

  /**
   * Holds a place for one more stream of the recipient, unless they have `cap` open or held
   * already; answers the function that gives the place back (once added, or when the request
   * ends first), or null. Checked and taken in one step, so requests opening at once cannot
   * overshoot the cap between the check and the add.
   */
  reserve(recipient: Recipient, cap: number): (() => void) | null {
    const key = recipientKey(recipient);
    const held = this.reserved.get(key) ?? 0;
    if (this.streamsOf(recipient) + held >= cap) return null;
    this.reserved.set(key, held + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.reserved.get(key) ?? 1) - 1;
      if (left === 0) this.reserved.delete(key);
      else this.reserved.set(key, left);
    };
  }

  /** Adds a stream; answers the function that removes it. */
  add(recipient: Recipient, listener: StreamListener<T>): () => void {
    const key = recipientKey(recipient);
    let entry = this.streams.get(key);
    if (!entry) {
      entry = {
        recipient: { userId: recipient.userId, tenantId: recipient.tenantId },
        listeners: new Set(),
      };
      this.streams.set(key, entry);
    }
    const mine = entry;
    mine.listeners.add(listener);
    return () => {
      mine.listeners.delete(listener);
      if (mine.listeners.size === 0 && this.streams.get(key) === mine) this.streams.delete(key);
    };
  }

  /** Delivers to the recipient's streams only: the cost does not grow with other users. */
  deliver(recipient: Recipient, event: T): void {
    const entry = this.streams.get(recipientKey(recipient));
    if (!entry) return;
    for (const listener of [...entry.listeners]) listener(event);
  }

  /** The recipient's open streams here. */
  streamsOf(recipient: Recipient): number {
    return this.streams.get(recipientKey(recipient))?.listeners.size ?? 0;
  }

  isConnected(recipient: Recipient): boolean {
    return this.streams.has(recipientKey(recipient));
  }

  /** Every recipient of the tenant with a stream here (for a broadcast). */
  *recipientsOf(tenantId: string | null): Iterable<Recipient> {
    for (const { recipient } of this.streams.values()) {
      if (recipient.tenantId === tenantId) yield recipient;
    }
  }

  /** Open streams and users with one, of one tenant (`null`: users without one) or of all. */
  count(tenantId?: string | null): { connections: number; users: number } {
    let connections = 0;
    let users = 0;
    for (const { recipient, listeners } of this.streams.values()) {
      if (tenantId !== undefined && recipient.tenantId !== tenantId) continue;
      connections += listeners.size;
      users += 1;
    }
    return { connections, users };
  }

  get connections(): number {
    let total = 0;
    for (const { listeners } of this.streams.values()) total += listeners.size;
    return total;
  }
}
