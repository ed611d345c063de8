import { Injectable } from '@nestjs/common';
import { Recipient, recipientKey } from '../notifications/notification';

export type StreamListener<T> = (event: T) => void;

/** Who is connected here: recipient → that recipient's open streams (every tab). */
@Injectable()
export class StreamRegistry<T = unknown> {
  private readonly streams = new Map<string, Set<StreamListener<T>>>();

  /** Adds a stream; answers the function that removes it. */
  add(recipient: Recipient, listener: StreamListener<T>): () => void {
    const key = recipientKey(recipient);
    let listeners = this.streams.get(key);
    if (!listeners) this.streams.set(key, (listeners = new Set()));
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0 && this.streams.get(key) === listeners) this.streams.delete(key);
    };
  }

  /** Delivers to the recipient's streams only: the cost does not grow with other users. */
  deliver(recipient: Recipient, event: T): void {
    const listeners = this.streams.get(recipientKey(recipient));
    if (!listeners) return;
    for (const listener of [...listeners]) listener(event);
  }

  isConnected(recipient: Recipient): boolean {
    return this.streams.has(recipientKey(recipient));
  }

  get connections(): number {
    let total = 0;
    for (const listeners of this.streams.values()) total += listeners.size;
    return total;
  }
}
