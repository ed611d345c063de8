import { ValidatorConstraint, ValidatorConstraintInterface } from 'class-validator';

/** A BCP 47 language tag in its canonical form (`pt-br` → `pt-BR`), or null when it is not one. */
export function canonicalLocale(tag: unknown): string | null {
  if (typeof tag !== 'string' || tag.length > 35) return null;
  try {
    const canonical = Intl.getCanonicalLocales(tag);
    return canonical.length === 1 ? canonical[0] : null;
  } catch {
    return null;
  }
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
