import { ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';

/** Canonical forms kept (Intl.getCanonicalLocales costs microseconds: messages repeat tags). */
const KNOWN = new Map<string, string | null>();
const KNOWN_LIMIT = 1000;

/** A BCP 47 language tag in its canonical form (`pt-br` → `pt-BR`), or null when it is not one. */
export function canonicalLocale(tag: unknown): string | null {
  if (typeof tag !== 'string' || tag.length > 35) return null;
  let canonical = KNOWN.get(tag);
  if (canonical === undefined) {
    try {
      const tags = Intl.getCanonicalLocales(tag);
      canonical = tags.length === 1 ? tags[0] : null;
    } catch {
      canonical = null;
    }
    if (KNOWN.size >= KNOWN_LIMIT) KNOWN.clear();
    KNOWN.set(tag, canonical);
  }
  return canonical;
}

/** A BCP 47 language tag, as ECMA-402 (`Intl.getCanonicalLocales`) reads one. */
@ValidatorConstraint({ name: 'isLanguageTag' })
export class IsLanguageTag implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    return canonicalLocale(value) !== null;
  }

  defaultMessage(): string {
    return 'locale must be a BCP 47 language tag such as "de" or "pt-BR"';
  }
}
