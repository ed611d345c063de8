import type { AuthenticatedUser } from './authenticated-user';

export interface StoredTicket {
  hash: string;
  user: AuthenticatedUser;
  expiresAt: Date;
}

/** Storage of stream tickets; implemented over Drizzle in tickets-drizzle.repository.ts. */
export abstract class TicketsRepository {
  /** Stores a ticket, and forgets tickets that expired long ago. */
  abstract save(ticket: StoredTicket): Promise<void>;

  /** Marks the ticket used and answers its user, once: null when unknown, used or expired. */
  abstract consume(hash: string): Promise<AuthenticatedUser | null>;
}
