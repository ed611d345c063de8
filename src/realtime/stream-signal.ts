import type { InboxEvent } from '../notifications/inbox-events';

/** What a stream is told: an inbox change, the new unread count, or a live event. */
export type StreamSignal =
  | Extract<InboxEvent, { kind: 'created' | 'updated' | 'bulk-updated' }>
  | { kind: 'unread-count'; count: number; unseen: number }
  | { kind: 'live'; type: string; data: Record<string, unknown>; topic?: string };

/** One open stream, as the StreamRegistry holds it. */
export interface SignalReceiver {
  receive(signal: StreamSignal): void;
}
