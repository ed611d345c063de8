import type { SseWireEventMap } from '../../src/realtime/sse-events.js';
import { SseParser } from './sse-parser.js';

export type { SseWireEventMap } from '../../src/realtime/sse-events.js';

/** A notification as the client holds it (dates as ISO strings). */
export type HeraldNotification = SseWireEventMap['notification'];

/**
 * `connecting`: the first attempt; `open`: live; `reconnecting`: waiting or retrying after the
 * stream ended; `unauthorized`: Herald refused the token (retried with the next token the
 * provider gives); `closed`: close() was called.
 */
export type ConnectionStatus = 'connecting' | 'open' | 'reconnecting' | 'unauthorized' | 'closed';

/** Everything a client can listen to: the stream's events, and the client's own. */
export interface HeraldClientEvents extends SseWireEventMap {
  status: ConnectionStatus;
  /** `notifications` or `unreadCount` changed. */
  change: HeraldClient;
}

export interface HeraldClientOptions {
  /** Herald's base URL, e.g. `https://herald.example.com`; empty = this page's origin. */
  url?: string;
  /** The user's bearer token, or a function answering a current one (asked before each connect). */
  token: string | (() => string | Promise<string>);
  /** Newest notifications kept in `notifications`, loaded over REST (default 50). */
  pageSize?: number;
  /** First reconnect delay; it doubles per failed attempt up to `maxDelayMs` (default 500). */
  minDelayMs?: number;
  /** Longest reconnect delay (default 30,000). */
  maxDelayMs?: number;
  /**
   * How the stream is opened. `ticket` (default; browsers and Node): fetch streaming, with a
   * single-use ticket per connect. `cookie` (browsers): a stream session cookie (POST
   * /stream/session, renewed when it expires) and the browser's own EventSource, which
   * reconnects by itself at its own pace (the delays below apply between sessions only). The
   * page must be on Herald's site (SameSite=Strict), and on another origin listed in
   * CORS_ORIGINS. When the cookie opens no stream COOKIE_ATTEMPTS times running (the browser
   * does not send it), the client goes over to tickets.
   */
  stream?: 'ticket' | 'cookie';
  /** For tests and older runtimes (default: the global fetch). */
  fetch?: typeof fetch;
  /** For tests (default: the global EventSource). */
  EventSource?: typeof EventSource;
}

/** Sessions in a row whose EventSource never opened before the client goes over to tickets. */
export const COOKIE_ATTEMPTS = 3;

/** A named EventSource event (the DOM types it as a plain Event). */
const asMessage = (event: Event) => event as MessageEvent;

/** Every event name, for EventSource listeners (the type makes sure none is left out). */
const EVENT_NAMES = Object.keys({
  notification: true,
  'notification.updated': true,
  'notification.bulk-updated': true,
  'unread-count': true,
  resync: true,
  live: true,
  'auth-expired': true,
} satisfies Record<keyof SseWireEventMap, true>) as (keyof SseWireEventMap)[];

/** An answer of Herald's other than 2xx: `status` and the `message` of its error body. */
export class HeraldError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'HeraldError';
  }
}

/** The wait before reconnect attempt `attempt` (0, 1, …): doubling, capped, with ±50 % jitter. */
export function reconnectDelay(
  attempt: number,
  minDelayMs: number,
  maxDelayMs: number,
  random: () => number = Math.random,
): number {
  const base = Math.min(maxDelayMs, minDelayMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (0.5 + random()));
}

/** Orders ids (decimal strings, as Herald's are): negative when `a` is older. */
const compareIds = (a: string, b: string) => a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);

/** Orders notifications newest first. */
const newestFirst = (a: HeraldNotification, b: HeraldNotification) => compareIds(b.id, a.id);

type BulkChange = SseWireEventMap['notification.bulk-updated'];

/** Whether the notification is snoozed at `now` (ms). */
const asleep = (item: HeraldNotification, now: number) =>
  item.snoozedUntil !== null && Date.parse(item.snoozedUntil) > now;

/** Whether a `notification.bulk-updated` change covers the notification. */
export function coveredBy(item: HeraldNotification, change: BulkChange, now = Date.now()): boolean {
  const { filter } = change;
  if (compareIds(item.id, change.upTo) > 0) return false;
  if (filter.type !== undefined && item.type !== filter.type) return false;
  if (filter.category !== undefined && item.category !== filter.category) return false;
  if (filter.before !== undefined && Date.parse(item.createdAt) >= Date.parse(filter.before)) {
    return false;
  }
  if (filter.ids !== undefined && !filter.ids.includes(item.id)) return false;
  // Named ids without a status: whatever their status.
  if (filter.ids !== undefined && filter.status === undefined) return true;
  const archived = item.archivedAt !== null;
  if (filter.status === 'snoozed') return asleep(item, now);
  if (asleep(item, now)) return false; // every other status leaves the snoozed out
  switch (filter.status) {
    case 'unread':
      return item.readAt === null && !archived;
    case 'read':
      return item.readAt !== null && !archived;
    case 'unseen': // read implies seen
      return item.seenAt === null && item.readAt === null && !archived;
    case 'archived':
      return archived;
    default: // 'all', or no status: everything not archived
      return !archived;
  }
}

/** The notification after a bulk change that covers it: a flag set keeps its first time. */
function applyBulk(item: HeraldNotification, change: BulkChange): HeraldNotification {
  const stamp = (value: boolean | undefined, at: string | null) =>
    value === undefined ? at : value ? (at ?? change.at) : null;
  return {
    ...item,
    readAt: stamp(change.set.read, item.readAt),
    seenAt: stamp(change.set.seen, item.seenAt),
    archivedAt: stamp(change.set.archived, item.archivedAt),
  };
}

export type BulkFilter = BulkChange['filter'];
export type BulkSet = BulkChange['set'];

type Listener<T> = (value: T) => void;

/**
 * A user's live inbox from Herald, in browsers and in Node. By default it streams with fetch (a
 * browser's EventSource would retry on its own with a spent single-use ticket): each connect gets
 * a fresh stream ticket and sends the last position it saw, so Herald replays what was missed.
 * With `stream: 'cookie'` the browser's EventSource does the reconnecting, with the session
 * cookie and Last-Event-ID. `notifications` and `unreadCount` follow the stream, and a `resync`
 * reloads them.
 *
 *   const inbox = new HeraldClient({ url, token: () => auth.currentToken() });
 *   inbox.on('change', () => render(inbox.notifications, inbox.unreadCount));
 *   inbox.connect();
 */
export class HeraldClient {
  /** Newest first; archived, snoozed and deleted ones leave the list. */
  notifications: HeraldNotification[] = [];
  unreadCount = 0;
  /** Not seen yet: what a bell's badge shows (markSeen() when the panel opens). */
  unseenCount = 0;
  status: ConnectionStatus = 'closed';
  /** The stream position last received: sent as `lastEventId` on reconnect. */
  lastEventId?: string;

  private readonly base: string;
  private readonly fetch: typeof fetch;
  private readonly listeners = new Map<keyof HeraldClientEvents, Set<Listener<never>>>();
  private abort?: AbortController;
  private wake?: () => void;
  private loaded = false;
  private cookie: boolean;
  /** Cookie sessions in a row whose EventSource never opened. */
  private unopened = 0;

  constructor(private readonly options: HeraldClientOptions) {
    this.base = (options.url ?? '').replace(/\/+$/, '');
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.cookie = options.stream === 'cookie';
  }

  /** Calls `listener` for each `event`; answers the function that stops it. */
  on<K extends keyof HeraldClientEvents>(
    event: K,
    listener: Listener<HeraldClientEvents[K]>,
  ): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  /** Starts the stream, and keeps it open until close(). */
  connect(): void {
    if (this.abort) return;
    const abort = (this.abort = new AbortController());
    void this.run(abort.signal);
  }

  close(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.wake?.();
    this.setStatus('closed');
  }

  /** Reloads the newest notifications and the unread count over REST. */
  async refresh(): Promise<void> {
    const limit = this.options.pageSize ?? 50;
    const [page, unread] = await Promise.all([
      this.request<{ items: HeraldNotification[] }>('GET', `/notifications?limit=${limit}`),
      this.request<{ count: number; unseen: number }>('GET', '/notifications/unread-count'),
    ]);
    // Kept: what the stream brought while the list was loading.
    const streamed = this.notifications.filter(
      (mine) => !page.items.some((item) => item.id === mine.id),
    );
    this.notifications = [...streamed, ...page.items].sort(newestFirst).slice(0, limit);
    this.unreadCount = unread.count;
    this.unseenCount = unread.unseen;
    this.loaded = true;
    this.emit('change', this);
  }

  async markRead(id: string, read = true): Promise<HeraldNotification> {
    const updated = await this.request<HeraldNotification>('PATCH', `/notifications/${id}`, {
      read,
    });
    this.apply(updated);
    return updated;
  }

  async archive(id: string): Promise<HeraldNotification> {
    const updated = await this.request<HeraldNotification>('PATCH', `/notifications/${id}`, {
      archived: true,
    });
    this.apply(updated);
    return updated;
  }

  /** Marks every notification read; answers how many changed. */
  async markAllRead(): Promise<number> {
    const { updated } = await this.request<{ updated: number }>('POST', '/notifications/read-all');
    const now = new Date().toISOString();
    for (const item of this.notifications) item.readAt ??= now;
    this.unreadCount = 0;
    this.unseenCount = 0; // read implies seen
    this.emit('change', this);
    return updated;
  }

  /**
   * Marks the given notifications seen, or all of them (when the panel opens): the badge's
   * `unseenCount` goes down, they stay unread. Answers how many changed.
   */
  async markSeen(ids?: string[]): Promise<number> {
    const { updated } = await this.request<{ updated: number }>('POST', '/notifications/seen', {
      ...(ids && { ids }),
    });
    const now = new Date().toISOString();
    for (const item of this.notifications) if (!ids || ids.includes(item.id)) item.seenAt ??= now;
    if (!ids) this.unseenCount = 0;
    this.emit('change', this);
    return updated;
  }

  /** Takes one of the notification's actions: recorded, and it is read. */
  async act(id: string, actionId: string): Promise<HeraldNotification> {
    const path = `/notifications/${encodeURIComponent(id)}/actions/${encodeURIComponent(actionId)}`;
    const updated = await this.request<HeraldNotification>('POST', path);
    this.apply(updated);
    return updated;
  }

  /** Hides it until `until` (at most 30 days ahead); null wakes it now. */
  async snooze(id: string, until: Date | null): Promise<HeraldNotification> {
    const updated = await this.request<HeraldNotification>('PATCH', `/notifications/${id}`, {
      snoozedUntil: until && until.toISOString(),
    });
    this.apply(updated);
    return updated;
  }

  /** One change to every notification that matches `filter`; answers how many changed. */
  async bulk(filter: BulkFilter, set: BulkSet): Promise<number> {
    const { updated } = await this.request<{ updated: number }>('POST', '/notifications/bulk', {
      filter,
      set,
    });
    return updated; // the stream's notification.bulk-updated changes the list
  }

  /** A REST call to `/api/v1<path>` with the user's token; HeraldError when not 2xx. */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.fetch(`${this.base}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${await this.token()}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!response.ok) throw await this.errorOf(response);
    return (response.status === 204 ? undefined : await response.json()) as T;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      this.setStatus(attempt === 0 && !this.loaded ? 'connecting' : 'reconnecting');
      let delay: number | undefined;
      try {
        const ended = this.cookie ? await this.eventSource(signal) : await this.stream(signal);
        if (ended.opened) attempt = 0;
        delay = ended.retry; // it ended cleanly: back after the server's `retry:`, as EventSource
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof HeraldError && error.status === 401) this.setStatus('unauthorized');
      }
      delay ??= reconnectDelay(
        attempt,
        this.options.minDelayMs ?? 500,
        this.options.maxDelayMs ?? 30_000,
      );
      attempt += 1;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** One stream, until it ends: whether it got to its first event, and the last `retry:`. */
  private async stream(signal: AbortSignal): Promise<{ opened: boolean; retry?: number }> {
    const { ticket } = await this.request<{ ticket: string }>('POST', '/stream/tickets');
    const query = new URLSearchParams({ ticket });
    if (this.lastEventId) query.set('lastEventId', this.lastEventId);
    const response = await this.fetch(`${this.base}/api/v1/notifications/stream?${query}`, {
      headers: { accept: 'text/event-stream' },
      signal,
    });
    if (!response.ok || !response.body) throw await this.errorOf(response);
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = response.body.getReader();
    let opened = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const message of parser.push(decoder.decode(value, { stream: true }))) {
        if (!opened) {
          opened = true;
          this.setStatus('open');
          if (!this.loaded) void this.refresh().catch(() => undefined);
        }
        this.lastEventId = message.id ?? this.lastEventId;
        this.receive(message.event as keyof SseWireEventMap, JSON.parse(message.data) as never);
      }
      this.lastEventId = parser.lastEventId ?? this.lastEventId;
    }
    return { opened, retry: parser.retry };
  }

  /**
   * A stream session, then one EventSource until it gives up (Herald refused it: the session
   * ended or expired) or the session expires (`auth-expired`): whether it ever opened. It
   * reconnects by itself meanwhile, with Last-Event-ID; a new one starts from `lastEventId`.
   */
  private async eventSource(signal: AbortSignal): Promise<{ opened: boolean; retry?: number }> {
    const session = await this.fetch(`${this.base}/api/v1/stream/session`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.token()}` },
      credentials: 'include',
      signal,
    });
    if (!session.ok) throw await this.errorOf(session);
    if (signal.aborted) return { opened: false };
    const query = this.lastEventId
      ? `?${new URLSearchParams({ lastEventId: this.lastEventId })}`
      : '';
    const Source = this.options.EventSource ?? EventSource;
    const source = new Source(`${this.base}/api/v1/notifications/stream${query}`, {
      withCredentials: true,
    });
    return new Promise((resolve) => {
      let opened = false;
      const end = () => {
        source.close();
        signal.removeEventListener('abort', end);
        if (!signal.aborted) this.unopened = opened ? 0 : this.unopened + 1;
        if (this.unopened >= COOKIE_ATTEMPTS) {
          this.cookie = false;
          console.warn(
            `Herald: the stream session cookie opened no stream ${COOKIE_ATTEMPTS} times (is the page on another site, or are cookies blocked?); using stream tickets`,
          );
        }
        resolve({ opened });
      };
      signal.addEventListener('abort', end);
      source.onopen = () => {
        opened = true;
        this.setStatus('open');
        if (!this.loaded) void this.refresh().catch(() => undefined);
      };
      source.onerror = () => {
        if (source.readyState === Source.CLOSED) end();
        else this.setStatus('reconnecting');
      };
      for (const name of EVENT_NAMES) {
        source.addEventListener(name, (event) => {
          const message = asMessage(event);
          this.lastEventId = message.lastEventId || this.lastEventId;
          this.receive(name, JSON.parse(message.data as string) as never);
          if (name === 'auth-expired') end();
        });
      }
    });
  }

  private receive<K extends keyof SseWireEventMap>(event: K, data: SseWireEventMap[K]): void {
    if (event === 'notification') {
      const notification = data as HeraldNotification;
      if (!this.notifications.some((item) => item.id === notification.id)) {
        this.notifications = [notification, ...this.notifications]
          .sort(newestFirst)
          .slice(0, this.options.pageSize ?? 50);
      }
    } else if (event === 'notification.updated') {
      const change = data as SseWireEventMap['notification.updated'];
      const item = this.notifications.find((each) => each.id === change.id);
      if (item) this.apply({ ...item, ...change }, change.deleted);
      // One that belongs in the list and is not in it: woken from a snooze, or unarchived.
      else if (!change.deleted && !change.archivedAt && !change.readAt && !change.snoozedUntil) {
        this.refreshSoon();
      }
    } else if (event === 'notification.bulk-updated') {
      const change = data as BulkChange;
      this.notifications = this.notifications
        .map((item) => (coveredBy(item, change) ? applyBulk(item, change) : item))
        .filter((item) => item.archivedAt === null);
      if (change.set.archived === false) this.refreshSoon(); // unarchived: not in the list
    } else if (event === 'unread-count') {
      const counts = data as SseWireEventMap['unread-count'];
      this.unreadCount = counts.count;
      this.unseenCount = counts.unseen;
    } else if (event === 'resync') {
      void this.refresh().catch(() => undefined);
    }
    this.emit(event, data as HeraldClientEvents[K]);
    if (event !== 'live' && event !== 'auth-expired') this.emit('change', this);
  }

  private refreshing?: Promise<void>;

  /** A refresh, or the one under way: a burst of changes reloads once. */
  private refreshSoon(): void {
    if (!this.loaded || this.refreshing) return;
    this.refreshing = this.refresh()
      .catch(() => undefined)
      .finally(() => (this.refreshing = undefined));
  }

  /** Puts a changed notification in the list, or takes it out when archived, snoozed or deleted. */
  private apply(updated: HeraldNotification, deleted = false): void {
    const gone = deleted || updated.archivedAt !== null || asleep(updated, Date.now());
    this.notifications = this.notifications.flatMap((item) =>
      item.id !== updated.id ? [item] : gone ? [] : [updated],
    );
    this.emit('change', this);
  }

  private async token(): Promise<string> {
    const { token } = this.options;
    return typeof token === 'string' ? token : token();
  }

  private async errorOf(response: Response): Promise<HeraldError> {
    const body = (await response.json().catch(() => ({}))) as { message?: string | string[] };
    const message = [body.message ?? response.statusText].flat().join('; ');
    return new HeraldError(response.status, message);
  }

  private setStatus(status: ConnectionStatus): void {
    if (this.status === status) return;
    this.status = status;
    this.emit('status', status);
  }

  private emit<K extends keyof HeraldClientEvents>(event: K, value: HeraldClientEvents[K]): void {
    for (const listener of this.listeners.get(event) ?? []) {
      try {
        (listener as Listener<HeraldClientEvents[K]>)(value);
      } catch (error) {
        // A listener's bug must not cut the stream: reported, as a DOM event handler's would be.
        console.error(error);
      }
    }
  }
}
