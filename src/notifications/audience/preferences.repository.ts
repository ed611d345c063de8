import type { Recipient } from '../notification';
import type { Muting } from './muting';

export interface Preferences {
  mutedTypes: string[];
  mutedCategories: string[];
  /** BCP 47, or null: the template's default. */
  locale: string | null;
}

/** Storage of per-user preferences; implemented over Drizzle in preferences-drizzle.repository.ts. */
export abstract class PreferencesRepository {
  abstract get(recipient: Recipient): Promise<Preferences>;

  abstract set(recipient: Recipient, preferences: Preferences): Promise<Preferences>;

  /**
   * What many recipients muted, at once (one query per ingest batch), keyed by recipientKey; those
   * who muted nothing are left out.
   */
  abstract mutingOf(recipients: Recipient[]): Promise<Map<string, Muting>>;
}
