import { ClientRequest, IncomingMessage, request } from 'node:http';
import type { RunningHerald } from './herald';

/** One parsed event-stream block. */
export interface SseEvent {
  event?: string;
  id?: string;
  data?: any;
  retry?: number;
  comments: string[];
}

/**
 * A real SSE client over a real socket (node:http), parsing the event stream as a browser does;
 * tests await events with `next()` rather than sleeping.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  private waiter?: { test: (event: SseEvent) => boolean; resolve: (e: SseEvent) => void };
  private consumed = 0;
  private ended = false;
  private readonly endWaiters: (() => void)[] = [];
  private pending = '';

  private constructor(
    readonly response: IncomingMessage,
    private readonly req: ClientRequest,
  ) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.parse(chunk));
    response.on('close', () => {
      this.ended = true;
      this.endWaiters.splice(0).forEach((resolve) => resolve());
    });
  }

  static open(
    herald: RunningHerald,
    options: {
      token?: string;
      /** A Cookie header, as a browser sends the stream session's. */
      cookie?: string;
      lastEventId?: string;
      query?: string;
      pause?: boolean;
    } = {},
  ): Promise<SseClient> {
    const url = new URL(`/api/v1/notifications/stream${options.query ?? ''}`, herald.url);
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.cookie) headers.cookie = options.cookie;
    if (options.lastEventId) headers['last-event-id'] = options.lastEventId;
    return new Promise((resolve, reject) => {
      const req = request(url, { headers }, (response) => resolve(new SseClient(response, req)));
      req.on('error', reject);
      req.end();
    });
  }

  get status(): number {
    return this.response.statusCode ?? 0;
  }

  /** The next event (after those already taken) that passes `test`; events before it are skipped. */
  next(test: (event: SseEvent) => boolean = () => true, timeoutMs = 10_000): Promise<SseEvent> {
    if (this.waiter) throw new Error('one next() at a time');
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new Error(`no matching SSE event within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        test,
        resolve: (event) => {
          clearTimeout(timer);
          this.waiter = undefined;
          resolve(event);
        },
      };
      this.scan();
    });
  }

  /** The next event named `name`. */
  nextOf(name: string, timeoutMs?: number): Promise<SseEvent> {
    return this.next((event) => event.event === name, timeoutMs);
  }

  /** Resolves when the server ends the stream. */
  whenEnded(): Promise<void> {
    return this.ended ? Promise.resolve() : new Promise((resolve) => this.endWaiters.push(resolve));
  }

  close(): void {
    this.req.destroy();
  }

  private parse(chunk: string): void {
    this.pending += chunk;
    let end: number;
    while ((end = this.pending.indexOf('\n\n')) >= 0) {
      const block = this.pending.slice(0, end);
      this.pending = this.pending.slice(end + 2);
      const event: SseEvent = { comments: [] };
      const data: string[] = [];
      for (const line of block.split('\n')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === '') event.comments.push(value);
        else if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
        else if (field === 'retry') event.retry = Number(value);
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) event.data = JSON.parse(data.join('\n'));
      this.events.push(event);
      this.scan();
    }
  }

  private scan(): void {
    if (!this.waiter) return;
    while (this.consumed < this.events.length) {
      const event = this.events[this.consumed];
      this.consumed += 1;
      if (this.waiter.test(event)) {
        this.waiter.resolve(event);
        return;
      }
    }
  }
}

/**
 * The streams a test opens, closed together after it: `afterEach(() => streams.closeAll())`.
 * `live` resolves once the stream is live (its first event, the unread count, arrived).
 */
export class TestStreams {
  private readonly clients: SseClient[] = [];

  async live(herald: RunningHerald, options: Parameters<typeof SseClient.open>[1]) {
    const client = this.track(await SseClient.open(herald, options));
    await client.nextOf('unread-count');
    return client;
  }

  track(client: SseClient): SseClient {
    this.clients.push(client);
    return client;
  }

  closeAll(): void {
    this.clients.splice(0).forEach((client) => client.close());
  }
}
