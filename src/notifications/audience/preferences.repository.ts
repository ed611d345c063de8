import type { Recipient } from '../notification';
import type { Muting } from './muting';

export interface Preferences {
  mutedTypes: string[];
  mutedCategories: string[];
  /** BCP 47, or null: the template's default. */
  locale: string | null;
  /** IANA or an offset, or null: the server's (`TZ`). Dates in templates are written in it. */
  timeZone: string | null;
}

/** What ingest needs of a recipient's preferences. */
export type DeliveryPreferences = Muting & Pick<Preferences, 'locale' | 'timeZone'>;

/** Storage of per-user preferences; implemented over Drizzle in preferences-drizzle.repository.ts. */
export abstract class PreferencesRepository {
  abstract get(recipient: Recipient): Promise<Preferences>;

  abstract set(recipient: Recipient, preferences: Preferences): Promise<Preferences>;

  /**
   * What many recipients muted, and the locale and time zone they read in, at once (one query per
   * ingest batch), keyed by recipientKey; those who muted nothing and set neither are left out.
   */
  abstract deliveryOf(recipients: Recipient[]): Promise<Map<string, DeliveryPreferences>>;
}
