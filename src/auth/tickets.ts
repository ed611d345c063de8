import { createHash, randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import type { AuthenticatedUser } from './authenticated-user';
import { InvalidTokenError } from './invalid-token.error';
import { TicketsRepository } from './tickets.repository';

/** A ticket is good for this long at most (CONTRACT.md: 60 s). */
const TICKET_TTL_MS = 60_000;

const hashOf = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

/**
 * Stream tickets: a browser trades its bearer token for a single-use ticket it can put in the
 * EventSource URL. 256 random bits; only the hash is stored; valid for 60 s at most and never
 * beyond the token it came from.
 */
@Injectable()
export class Tickets {
  constructor(private readonly tickets: TicketsRepository) {}

  async issue(user: AuthenticatedUser): Promise<{ ticket: string; expiresAt: Date }> {
    const ticket = randomBytes(32).toString('base64url');
    const expiresAt = new Date(Math.min(Date.now() + TICKET_TTL_MS, user.expiresAt.getTime()));
    await this.tickets.save({ hash: hashOf(ticket), user, expiresAt });
    return { ticket, expiresAt };
  }

  /** The ticket's user, once; InvalidTokenError for an unknown, used or expired ticket. */
  async redeem(ticket: string): Promise<AuthenticatedUser> {
    const user = /^[\w-]{43}$/.test(ticket) ? await this.tickets.consume(hashOf(ticket)) : null;
    if (!user) throw new InvalidTokenError('ticket unknown, used or expired');
    return user;
  }
}
