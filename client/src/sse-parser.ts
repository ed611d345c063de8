/** One Server-Sent Event, as the EventSource specification assembles it. */
export interface SseMessage {
  event: string;
  data: string;
  /** The `id:` of this event, or of the last event that had one (undefined when none did). */
  id?: string;
}

/**
 * Turns the text of an SSE response, in chunks as they arrive, into events (the "interpreting an
 * event stream" rules of the HTML specification: fields, comments, CR/LF/CRLF line ends).
 */
export class SseParser {
  /** The last `id:` received, also from a block without data (as EventSource keeps it). */
  lastEventId?: string;
  /** The last `retry:` received, in milliseconds. */
  retry?: number;
  private buffer = '';
  private event = '';
  private data: string[] = [];

  push(chunk: string): SseMessage[] {
    this.buffer += chunk;
    const messages: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const end = this.lineEnd(start);
      if (end < 0) break;
      const line = this.buffer.slice(start, end);
      start = end + (this.buffer[end] === '\r' && this.buffer[end + 1] === '\n' ? 2 : 1);
      const message = this.line(line);
      if (message) messages.push(message);
    }
    this.buffer = this.buffer.slice(start);
    return messages;
  }

  /** Where the next line ends, or -1; a CR at the very end may be half of a CRLF still coming. */
  private lineEnd(from: number): number {
    for (let index = from; index < this.buffer.length; index += 1) {
      const char = this.buffer[index];
      if (char === '\n') return index;
      if (char === '\r') return index + 1 < this.buffer.length ? index : -1;
    }
    return -1;
  }

  private line(line: string): SseMessage | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined; // a comment (heartbeat)
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.lastEventId = value;
    else if (field === 'retry' && /^\d+$/.test(value)) this.retry = Number(value);
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const message =
      this.data.length > 0
        ? { event: this.event || 'message', data: this.data.join('\n'), id: this.lastEventId }
        : undefined;
    this.event = '';
    this.data = [];
    return message;
  }
}
