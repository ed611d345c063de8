import type { Recipient } from '../notification';

export interface Preferences {
  mutedTypes: string[];
}

/** Storage of per-user preferences; implemented over Drizzle in preferences-drizzle.repository.ts. */
export abstract class PreferencesRepository {
  abstract get(recipient: Recipient): Promise<Preferences>;

  abstract set(recipient: Recipient, preferences: Preferences): Promise<Preferences>;

  /** Muted types of many recipients at once (one query per ingest batch), keyed by recipientKey. */
  abstract mutedTypesOf(recipients: Recipient[]): Promise<Map<string, string[]>>;
}
