import { Injectable } from '@nestjs/common';
import { Recipient, recipientKey } from '../notifications/notification';
import type { SignalReceiver, StreamSignal } from './stream-signal';

interface Entry {
  recipient: Recipient;
  streams: Set<SignalReceiver>;
}

/** Who is connected here: recipient → that recipient's open streams (every tab). */
@Injectable()
export class StreamRegistry {
  private readonly entries = new Map<string, Entry>();
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

  /** Adds a stream; answers whether it is the recipient's first here. */
  add(recipient: Recipient, stream: SignalReceiver): boolean {
    const key = recipientKey(recipient);
    const entry = this.entries.get(key);
    if (entry) {
      entry.streams.add(stream);
      return false;
    }
    const { userId, tenantId } = recipient;
    this.entries.set(key, { recipient: { userId, tenantId }, streams: new Set([stream]) });
    return true;
  }

  /** Removes a stream; answers whether it was the recipient's last here. */
  remove(recipient: Recipient, stream: SignalReceiver): boolean {
    const key = recipientKey(recipient);
    const entry = this.entries.get(key);
    if (!entry?.streams.delete(stream) || entry.streams.size > 0) return false;
    this.entries.delete(key);
    return true;
  }

  /** Delivers to the recipient's streams only: the cost does not grow with other users. */
  deliver(recipient: Recipient, signal: StreamSignal): void {
    const entry = this.entries.get(recipientKey(recipient));
    // A stream that ends while receiving leaves the set: iterating a Set allows that.
    if (entry) for (const stream of entry.streams) stream.receive(signal);
  }

  /** The recipient's open streams here. */
  streamsOf(recipient: Recipient): number {
    return this.entries.get(recipientKey(recipient))?.streams.size ?? 0;
  }

  isConnected(recipient: Recipient): boolean {
    return this.entries.has(recipientKey(recipient));
  }

  /** Every recipient of the tenant with a stream here (for a broadcast). */
  *recipientsOf(tenantId: string | null): Iterable<Recipient> {
    for (const { recipient } of this.entries.values()) {
      if (recipient.tenantId === tenantId) yield recipient;
    }
  }

  /** Open streams and users with one, of one tenant (`null`: users without one) or of all. */
  count(tenantId?: string | null): { connections: number; users: number } {
    let connections = 0;
    let users = 0;
    for (const { recipient, streams } of this.entries.values()) {
      if (tenantId !== undefined && recipient.tenantId !== tenantId) continue;
      connections += streams.size;
      users += 1;
    }
    return { connections, users };
  }

  get connections(): number {
    return this.count().connections;
  }
}
