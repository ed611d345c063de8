import {
  createLocalJWKSet,
  errors,
  FlattenedJWSInput,
  JSONWebKeySet,
  JWTHeaderParameters,
  JWTVerifyGetKey,
} from 'jose';
import { UnavailableError } from '../common/domain-error';

export interface RemoteKeySetOptions {
  /** A fetch that takes longer (connect, headers and body) has failed. */
  timeoutMs: number;
  /** Age after which a good set is refreshed in the background; it stays in use meanwhile. */
  maxAgeMs: number;
  /** An unknown `kid` refetches the set only when it is older than this (rotation, not abuse). */
  cooldownMs: number;
  /** After a failed fetch the next one waits this long, doubling per failure up to retryMaxMs. */
  retryMinMs: number;
  retryMaxMs: number;
  /** While fetches keep failing, one warning line per this interval. */
  warnEveryMs: number;
  maxBytes: number;
  logger: { warn(message: string): void; log(message: string): void };
  now?: () => number;
}

interface Failing {
  since: number;
  attempts: number;
  retryAt: number;
  warnedAt: number;
}

/** Why a fetched set cannot be used, or undefined when it can. */
function problemOf(json: unknown): string | undefined {
  const keys = (json as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) return 'not a JSON Web Key Set';
  if (keys.length === 0) return 'no keys';
  const wellFormed = (key: unknown) => typeof (key as { kty?: unknown } | null)?.kty === 'string';
  return keys.every(wellFormed) ? undefined : 'a key without "kty"';
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = (response.body as ReadableStream<Uint8Array> | null)?.getReader();
  for (let read = await reader?.read(); read && !read.done; read = await reader?.read()) {
    size += read.value.byteLength;
    if (size > maxBytes) {
      await reader?.cancel();
      throw new Error(`larger than ${maxBytes} bytes`);
    }
    chunks.push(read.value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

const attemptsOf = (count: number) => `${count} attempt${count === 1 ? '' : 's'}`;

function reasonOf(error: unknown, timeoutMs: number): string {
  const { name, message, cause } = error as Error & { cause?: { code?: string } };
  if (name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  return cause?.code ?? message;
}

/**
 * The key set at a JWKS URL, kept through outages of its server. jose's createRemoteJWKSet
 * refuses every token once its cache is older than its maximum age and a refetch fails; this one
 * keeps verifying with the last good set (refreshing it in the background, with a growing pause
 * between failed attempts) and only answers UnavailableError (503) when it cannot know the key:
 * no set fetched yet, or a `kid` it does not hold while the server does not answer. A token that
 * fails against a set it holds stays jose's error (401).
 */
export class RemoteKeySet {
  private readonly now: () => number;
  private keys?: JWTVerifyGetKey;
  private fetchedAt = 0;
  private failing?: Failing;
  private pending?: Promise<boolean>;
  private readonly aborts = new AbortController();

  constructor(
    private readonly url: URL,
    private readonly options: RemoteKeySetOptions,
  ) {
    this.now = options.now ?? Date.now;
  }

  /** For jwtVerify. */
  readonly getKey = async (header: JWTHeaderParameters, token: FlattenedJWSInput) => {
    if (!this.keys) {
      if (!(await this.refresh())) throw this.unavailable();
    } else if (this.now() - this.fetchedAt >= this.options.maxAgeMs) {
      void this.refresh();
    }
    try {
      return await this.keys!(header, token);
    } catch (error) {
      if (!(error instanceof errors.JWKSNoMatchingKey)) throw error;
      // A set fetched moments ago without failure is the truth: the key does not exist.
      const current = !this.failing && this.now() - this.fetchedAt < this.options.cooldownMs;
      if (current) throw error;
      if (!(await this.refresh())) throw this.unavailable();
      return this.keys!(header, token);
    }
  };

  /** Starts fetching the set, so that the first request need not wait for it. */
  prefetch(): void {
    void this.refresh();
  }

  /** A fetch is in flight. */
  get refreshing(): boolean {
    return !!this.pending;
  }

  /** Ends a fetch in flight (shutdown). */
  close(): void {
    this.aborts.abort();
  }

  /**
   * One fetch at a time, never while a failure's pause lasts. Resolves true when a set fetched
   * by this (or the fetch already in flight) is in use; never rejects.
   */
  private refresh(): Promise<boolean> {
    if (this.pending) return this.pending;
    if (this.failing && this.now() < this.failing.retryAt) return Promise.resolve(false);
    this.pending = this.fetchSet().then(
      (jwks) => {
        this.succeeded(jwks);
        return true;
      },
      (error: unknown) => {
        if (!this.aborts.signal.aborted) this.failed(reasonOf(error, this.options.timeoutMs));
        return false;
      },
    );
    void this.pending.finally(() => (this.pending = undefined));
    return this.pending;
  }

  private async fetchSet(): Promise<JSONWebKeySet> {
    const response = await fetch(this.url, {
      headers: { accept: 'application/json' },
      // jose follows no redirect either; one could lead from https to http.
      redirect: 'error',
      signal: AbortSignal.any([this.aborts.signal, AbortSignal.timeout(this.options.timeoutMs)]),
    });
    if (response.status !== 200) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status}`);
    }
    const text = await readBounded(response, this.options.maxBytes);
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error('not JSON');
    }
    const problem = problemOf(json);
    if (problem) throw new Error(problem);
    return json as JSONWebKeySet;
  }

  private succeeded(jwks: JSONWebKeySet): void {
    this.keys = createLocalJWKSet(jwks);
    this.fetchedAt = this.now();
    if (this.failing) {
      this.options.logger.log(
        `Key set ${this.where()} fetched again after ${attemptsOf(this.failing.attempts)} failed`,
      );
    }
    this.failing = undefined;
  }

  private failed(reason: string): void {
    const now = this.now();
    const attempts = (this.failing?.attempts ?? 0) + 1;
    const pause = Math.min(
      this.options.retryMaxMs,
      this.options.retryMinMs * 2 ** Math.min(attempts - 1, 30),
    );
    const since = this.failing?.since ?? now;
    const warn = !this.failing || now - this.failing.warnedAt >= this.options.warnEveryMs;
    const warnedAt = warn ? now : this.failing!.warnedAt;
    this.failing = { since, attempts, retryAt: now + pause, warnedAt };
    if (!warn) return;
    const state = this.keys
      ? `verifying with the set fetched ${new Date(this.fetchedAt).toISOString()}`
      : 'no set fetched yet: tokens that need it are answered 503';
    this.options.logger.warn(
      `Key set ${this.where()} cannot be fetched (${reason}); ${attemptsOf(attempts)} since ` +
        `${new Date(since).toISOString()}; ${state}; retrying`,
    );
  }

  private where(): string {
    return `${this.url.origin}${this.url.pathname}`;
  }

  private unavailable(): UnavailableError {
    return new UnavailableError(
      "Token keys unavailable: the identity provider's key set cannot be fetched; try again later",
    );
  }
}
