import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { turnBatch } from '../common/turn-batch';
import type { AuthenticatedUser } from './authenticated-user';
import { InvalidTokenError } from './invalid-token.error';
import { StreamSessionsRepository } from './stream-sessions.repository';

/** The cookie (CONTRACT.md v1.1), sent by browsers to the stream's path only. */
export const STREAM_COOKIE = 'herald_stream';
export const STREAM_COOKIE_PATH = '/api/v1/notifications/stream';
/** A session lasts this long at most (and never past the token that opened it). */
const SESSION_TTL_MS = 60 * 60 * 1000;

const hashOf = (secret: string) => createHash('sha256').update(secret).digest('hex');

/**
 * Stream sessions: a browser trades its bearer token for an HttpOnly cookie that only the stream
 * accepts, so a native EventSource reconnects by itself (a spent ticket would be refused). 256
 * random bits; only hashes are stored, so every instance knows every session.
 */
@Injectable()
export class StreamSessions {
  private readonly lookup: (hash: string) => Promise<AuthenticatedUser | null>;

  constructor(private readonly repository: StreamSessionsRepository) {
    // One query for the sessions of a reconnect storm's turn, not one per stream.
    this.lookup = turnBatch((hashes) => repository.find(hashes));
  }

  /** A new session for the caller of `token`: the cookie's value and when it ends. */
  async open(
    user: AuthenticatedUser,
    token: string,
  ): Promise<{ session: string; expiresAt: Date }> {
    const session = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Math.min(Date.now() + SESSION_TTL_MS, user.expiresAt.getTime()));
    await this.repository.save({
      hash: hashOf(session),
      tokenHash: hashOf(token),
      user: { ...user, expiresAt },
    });
    return { session, expiresAt };
  }

  /** The session's user, its `expiresAt` the session's; InvalidTokenError when it is not valid. */
  async resolve(session: string): Promise<AuthenticatedUser> {
    const user = /^[\w-]{43}$/.test(session) ? await this.lookup(hashOf(session)) : null;
    if (!user) throw new InvalidTokenError('stream session unknown, ended or expired');
    return user;
  }

  /** Ends every session `token` opened. */
  end(token: string): Promise<number> {
    return this.repository.end(hashOf(token));
  }
}
