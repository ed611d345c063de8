import { ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';

/** Room for any IANA name (the longest, `America/Argentina/ComodRivadavia`, has 32). */
export const TIME_ZONE_MAX_LENGTH = 64;

/**
 * An IANA time zone or an offset (`+05:30`) in the form ECMA-402 resolves it to
 * (`europe/berlin` → `Europe/Berlin`), or null when Intl does not know it.
 */
export function canonicalTimeZone(zone: unknown): string | null {
  if (typeof zone !== 'string' || zone.length === 0 || zone.length > TIME_ZONE_MAX_LENGTH) {
    return null;
  }
  try {
    return new Intl.DateTimeFormat('en', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** A time zone Intl knows: an IANA name such as "Europe/Berlin", "UTC", or an offset. */
@ValidatorConstraint({ name: 'isTimeZone' })
export class IsTimeZone implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return canonicalTimeZone(value) !== null;
  }

  defaultMessage(): string {
    return 'timeZone must be an IANA time zone such as "Europe/Berlin" or "UTC", or an offset such as "+05:30"';
  }
}
