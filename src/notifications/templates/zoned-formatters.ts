import type { Formatters } from 'intl-messageformat';

type IntlFormatter = Intl.NumberFormat | Intl.DateTimeFormat | Intl.PluralRules;

/** Intl objects kept, by kind, locale and options, and zone for dates, across all templates. */
const KEPT_LIMIT = 2048;
const kept = new Map<string, IntlFormatter>();

/** One Intl object per key: making one costs far more than formatting with it. */
function once<T extends IntlFormatter>(key: string, make: () => T): T {
  let made = kept.get(key) as T | undefined;
  if (!made) {
    made = make();
    if (kept.size >= KEPT_LIMIT) kept.clear();
    kept.set(key, made);
  }
  return made;
}

const keyOf = (kind: string, locales: unknown, options: object | undefined, zone = '') =>
  `${kind} ${zone} ${String(locales)} ${JSON.stringify(options ?? {})}`;

/**
 * IntlMessageFormat's formatters, but writing dates and times in `timeZone` (one Intl knows).
 * Numbers and plural rules do not depend on the zone and are shared by every zone.
 */
export function formattersIn(timeZone: string): Formatters {
  return {
    getNumberFormat: (locales, options) =>
      once(keyOf('number', locales, options), () => new Intl.NumberFormat(locales, options)),
    getDateTimeFormat: (locales, options) =>
      once(
        keyOf('date', locales, options, timeZone),
        () => new Intl.DateTimeFormat(locales, { ...options, timeZone }),
      ),
    getPluralRules: (locales, options) =>
      once(keyOf('plural', locales, options), () => new Intl.PluralRules(locales, options)),
  };
}
