import { DomainError, InvalidInputError } from '../../common/domain-error';

/** One locale's strings, each ICU MessageFormat (CONTRACT.md v1.1 "Templates"). */
export interface TemplateStrings {
  title: string;
  body?: string;
  /** Button labels by action id. */
  actions?: Record<string, string>;
}

/** A stored template: per tenant and name. */
export interface Template {
  tenantId: string | null;
  name: string;
  defaultLocale: string;
  /** By canonical BCP 47 tag; `defaultLocale` is one of them. */
  locales: Record<string, TemplateStrings>;
  /** 1 when created, one more with every PUT: what a compiled template is cached by. */
  revision: number;
  createdAt: Date;
  updatedAt: Date;
}

/** What a PUT gives. */
export type TemplateDefinition = Pick<Template, 'defaultLocale' | 'locales'>;

/**
 * A message cannot be rendered from its template: the template is unknown, or the message's
 * `data` lacks an argument the template needs (dead letter `template`).
 */
export class TemplateError extends InvalidInputError {}

export class TemplateNotFoundError extends DomainError {
  readonly kind = 'not-found';

  constructor(name: string) {
    super(`Template ${JSON.stringify(name.slice(0, 100))} not found`);
  }
}
