import type { AuthenticatedUser } from './authenticated-user';

export interface StoredStreamSession {
  hash: string;
  /** The SHA-256 of the bearer token that opened it. */
  tokenHash: string;
  /** Its user; `expiresAt` is when the session ends. */
  user: AuthenticatedUser;
}

/** Storage of stream sessions; implemented over Drizzle in stream-sessions-drizzle.repository.ts. */
export abstract class StreamSessionsRepository {
  /** Stores a session, and forgets sessions that expired. */
  abstract save(session: StoredStreamSession): Promise<void>;

  /** The user of each hash (in order), or null when unknown, ended or expired. */
  abstract find(hashes: readonly string[]): Promise<(AuthenticatedUser | null)[]>;

  /** Ends the sessions a token opened; answers how many. */
  abstract end(tokenHash: string): Promise<number>;
}
