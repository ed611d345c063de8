import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { z } from 'zod';
import { InvalidInputError } from '../../common/domain-error';
import { canonicalLocale } from '../../common/locale';
import { ACTION_ID } from '../intake/create-notification.command';
import { CompiledTemplate } from './compiled-template';
import { Template, TemplateDefinition, TemplateNotFoundError, TemplateStrings } from './template';
import { TemplateKey, TemplatesRepository } from './templates.repository';

/** Locales one template may hold. */
const MAX_LOCALES = 100;
/** Compiled templates kept in memory (by content: each tenant's and name's current one). */
const CACHE_SIZE = 1000;

const localeStrings = z.strictObject({
  title: z.string().min(1).max(2000),
  body: z.string().max(20_000).optional(),
  actions: z
    .record(z.string().regex(ACTION_ID, 'action ids are 1-32 of [a-z0-9_-]'), z.string().max(500))
    .optional(),
});
const definition = z.strictObject({
  defaultLocale: z.string(),
  locales: z.record(z.string(), localeStrings),
});

/**
 * Templates (CONTRACT.md v1.1 "Templates"): stored per tenant, checked when put (each string must
 * parse as ICU MessageFormat), compiled once per revision, and looked up once per ingest batch.
 */
@Injectable()
export class Templates {
  /** By tenant, name and a digest of the content; the oldest entry goes first when full. */
  private readonly compiled = new Map<string, CompiledTemplate>();

  constructor(private readonly repository: TemplatesRepository) {}

  /** Creates or replaces a template; InvalidInputError naming each problem. */
  async put(key: TemplateKey, body: unknown): Promise<Template> {
    return this.repository.put(key, definitionOf(body));
  }

  async get(key: TemplateKey): Promise<Template> {
    const template = await this.repository.get(key);
    if (!template) throw new TemplateNotFoundError(key.name);
    return template;
  }

  list(tenantId: string | null): Promise<Template[]> {
    return this.repository.list(tenantId);
  }

  async delete(key: TemplateKey): Promise<void> {
    if (!(await this.repository.delete(key))) throw new TemplateNotFoundError(key.name);
  }

  /** The compiled templates of `keys` that exist, by templateKeyOf(), in one query. */
  async compiledFor(keys: TemplateKey[]): Promise<Map<string, CompiledTemplate>> {
    const distinct = new Map(keys.map((key) => [templateKeyOf(key), key]));
    const found = new Map<string, CompiledTemplate>();
    if (distinct.size === 0) return found;
    for (const template of await this.repository.find([...distinct.values()])) {
      found.set(templateKeyOf(template), this.compile(template));
    }
    return found;
  }

  /**
   * Compiled once per content: a revision number alone could name two contents (a template
   * deleted and put again starts at 1 again) and serve the old one.
   */
  private compile(template: Template): CompiledTemplate {
    const content = JSON.stringify([template.defaultLocale, template.locales]);
    const digest = createHash('sha256').update(content).digest('base64url');
    const id = `${templateKeyOf(template)}\u0000${digest}`;
    let compiled = this.compiled.get(id);
    if (!compiled) {
      compiled = CompiledTemplate.compile(template.name, template);
      if (this.compiled.size >= CACHE_SIZE) {
        this.compiled.delete(this.compiled.keys().next().value!);
      }
      this.compiled.set(id, compiled);
    }
    return compiled;
  }
}

export function templateKeyOf(key: TemplateKey): string {
  return `${key.tenantId ?? ''}\u0000${key.name}`;
}

/**
 * A PUT body as a definition: its locales in canonical form (`pt-br` → `pt-BR`), the default one
 * of them, and every string ICU MessageFormat; else InvalidInputError naming each problem.
 */
function definitionOf(body: unknown): TemplateDefinition {
  const parsed = definition.safeParse(body);
  if (!parsed.success) {
    throw new InvalidInputError(
      parsed.error.issues.map((issue) => {
        // A bad key's own message ("action ids are …") is one level down.
        const message = issue.code === 'invalid_key' ? issue.issues[0].message : issue.message;
        return `${issue.path.join('.') || 'body'}: ${message}`;
      }),
    );
  }
  const problems: string[] = [];
  const locales: Record<string, TemplateStrings> = {};
  for (const [tag, strings] of Object.entries(parsed.data.locales)) {
    const locale = canonicalLocale(tag);
    if (locale === null) problems.push(`locales.${tag} is not a BCP 47 language tag`);
    else if (locales[locale]) problems.push(`locales.${tag} repeats ${locale}`);
    else locales[locale] = strings;
  }
  const count = Object.keys(parsed.data.locales).length;
  if (count === 0) problems.push('locales must hold at least one locale');
  if (count > MAX_LOCALES) problems.push(`locales must hold at most ${MAX_LOCALES} locales`);
  const defaultLocale = canonicalLocale(parsed.data.defaultLocale);
  if (defaultLocale === null) problems.push('defaultLocale is not a BCP 47 language tag');
  else if (count > 0 && !locales[defaultLocale]) {
    problems.push(`defaultLocale ${defaultLocale} is not one of locales`);
  }
  if (problems.length > 0) throw new InvalidInputError(problems);
  const result = { defaultLocale: defaultLocale!, locales };
  const syntax = CompiledTemplate.problemsOf(result);
  if (syntax.length > 0) throw new InvalidInputError(syntax);
  return result;
}
