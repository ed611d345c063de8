import {
  type MessageFormatElement,
  parse,
  type ParserOptions,
} from '@formatjs/icu-messageformat-parser';
import { match } from '@formatjs/intl-localematcher';
import { type Formatters, IntlMessageFormat } from 'intl-messageformat';
import { canonicalTimeZone } from '../../common/time-zone';
import type { TemplateDefinition, TemplateStrings } from './template';
import { ArgumentKind, collectArguments, KIND_RULE, Uses, valueOf } from './template-arguments';
import { formattersIn } from './zoned-formatters';

/** Limits of what a template renders: those of a message's own fields. */
export const RENDERED_LIMITS = { title: 500, body: 10_000, label: 64 } as const;

/** Arguments Herald gives every template: a group's size and who is in it, newest first. */
const GIVEN = ['count', 'actors'] as const;
/** Resolved locales kept per template (one per distinct requested locale). */
const LOCALE_CACHE = 256;
/** Locales compiled for a time zone kept per template (one per locale and zone read in). */
const ZONED_CACHE = 256;
/** Plain text: `<b>` is text, not a tag to fill. */
const PARSING: ParserOptions = { ignoreTag: true, requiresOtherClause: true };

/** A group's count and actors, or a plain notification's (1, none). */
export interface GroupValues {
  count: number;
  actors: readonly string[];
}

export interface Rendered {
  locale: string;
  title: string;
  /** Null when neither the locale nor the default one has a body: the message's own is kept. */
  body: string | null;
  /** By action id, for the ids the locale labels. */
  labels: Record<string, string>;
}

/** A locale's strings, parsed. */
interface ParsedStrings {
  title: MessageFormatElement[];
  body: MessageFormatElement[] | null;
  labels: [string, MessageFormatElement[]][];
}

interface CompiledStrings {
  title: IntlMessageFormat;
  body: IntlMessageFormat | null;
  labels: [string, IntlMessageFormat][];
}

/**
 * A template parsed and compiled once (per revision; Templates caches it): picks the locale
 * nearest a recipient's, checks a message's `data` against every argument the template uses, and
 * renders.
 */
export class CompiledTemplate {
  private readonly resolved = new Map<string, string>();
  private readonly lists = new Map<string, Intl.ListFormat>();
  /** In the server's time zone, by locale. */
  private readonly strings = new Map<string, CompiledStrings>();
  /** In a recipient's time zone, by zone and locale. */
  private readonly zoned = new Map<string, CompiledStrings>();
  /** Whether any locale writes a date or time: the only text a time zone changes. */
  readonly usesDates: boolean;

  private constructor(
    readonly name: string,
    readonly defaultLocale: string,
    private readonly parsed: Map<string, ParsedStrings>,
    /** Every argument any locale uses, but those Herald gives (GIVEN). */
    private readonly needs: Map<string, ArgumentKind>,
    usesDates: boolean,
  ) {
    for (const [locale, strings] of parsed) this.strings.set(locale, compiled(locale, strings));
    this.usesDates = usesDates;
  }

  /**
   * Why a definition cannot be stored: each string that does not parse as ICU MessageFormat, by
   * locale and field. Empty when it compiles.
   */
  static problemsOf(definition: TemplateDefinition): string[] {
    const problems: string[] = [];
    for (const [locale, strings] of Object.entries(definition.locales)) {
      for (const [field, source] of fieldsOf(strings)) {
        try {
          parse(source, PARSING);
        } catch (error) {
          problems.push(`locales.${locale}.${field} is not ICU MessageFormat: ${describe(error)}`);
        }
      }
    }
    return problems;
  }

  /** Compiles a definition that problemsOf() found none in. */
  static compile(name: string, definition: TemplateDefinition): CompiledTemplate {
    const parsed = new Map<string, ParsedStrings>();
    const uses: Uses = { needs: new Map(), dates: false };
    const parseUsing = (text: string) => {
      const ast = parse(text, PARSING);
      collectArguments(ast, uses);
      return ast;
    };
    for (const [locale, source] of Object.entries(definition.locales)) {
      parsed.set(locale, {
        title: parseUsing(source.title),
        body: source.body === undefined ? null : parseUsing(source.body),
        labels: Object.entries(source.actions ?? {}).map(([id, label]) => [id, parseUsing(label)]),
      });
    }
    for (const given of GIVEN) uses.needs.delete(given);
    return new CompiledTemplate(name, definition.defaultLocale, parsed, uses.needs, uses.dates);
  }

  /**
   * The locale to render in for a recipient who reads `wanted` (the message's `locale`, else
   * theirs): the template's nearest one (`de-AT` → `de`), else its default.
   */
  localeFor(wanted: string | null): string {
    if (wanted === null) return this.defaultLocale;
    let locale = this.resolved.get(wanted);
    if (locale === undefined) {
      locale = match([wanted], [...this.parsed.keys()], this.defaultLocale);
      if (this.resolved.size >= LOCALE_CACHE) this.resolved.clear();
      this.resolved.set(wanted, locale);
    }
    return locale;
  }

  /**
   * What keeps `data` from rendering (an argument any locale uses that is missing or of the wrong
   * kind, a default-locale result past the limits of a message's fields, a label that a locale
   * lacks for one of the `unlabelled` action ids), each naming the field; empty when none.
   * Checked before anything of the message is stored, so that rendering at store time cannot
   * fail. Only the default locale is rendered here, whatever the number of locales: the others
   * take the same arguments, and render when a recipient reads them.
   */
  problemsWith(
    data: Record<string, unknown>,
    group: GroupValues | null,
    unlabelled: readonly string[] = [],
  ): string[] {
    const problems: string[] = [];
    for (const [name, kind] of this.needs) {
      if (data[name] === undefined) problems.push(`data.${name} is missing`);
      else if (valueOf(data[name], kind) === undefined) {
        problems.push(`data.${name} must be ${KIND_RULE[kind]}`);
      }
    }
    for (const given of GIVEN) {
      if (data[given] !== undefined && valueOf(data[given], GIVEN_KIND[given]) === undefined) {
        problems.push(`data.${given} must be ${KIND_RULE[GIVEN_KIND[given]]}`);
      }
    }
    for (const id of unlabelled) {
      const lacking = [...this.parsed.keys()].find((locale) => !this.labels(locale).has(id));
      if (lacking !== undefined) {
        problems.push(`actions.${id} has no label: neither the message nor ${lacking} gives one`);
      }
    }
    if (problems.length > 0) return problems;
    try {
      problems.push(...limitProblems(this.render(this.defaultLocale, data, group)));
    } catch (error) {
      problems.push(`it does not render: ${(error as Error).message}`);
    }
    return problems;
  }

  /** The action ids a locale labels, its own or the default locale's. */
  private labels(locale: string): Set<string> {
    return new Set(
      [this.defaultLocale, locale].flatMap((each) =>
        this.parsed.get(each)!.labels.map(([id]) => id),
      ),
    );
  }

  /**
   * Renders in `locale` (one of localeFor's), dates in `timeZone` (null: the server's); a body or
   * label the locale lacks comes from the default locale. Checked by problemsWith() first.
   */
  render(
    locale: string,
    data: Record<string, unknown>,
    group: GroupValues | null,
    timeZone: string | null = null,
  ): Rendered {
    const strings = this.stringsOf(locale, timeZone);
    const fallback = this.stringsOf(this.defaultLocale, timeZone);
    const values = this.values(locale, data, group);
    const format = (message: IntlMessageFormat) => String(message.format(values));
    const body = strings.body ?? fallback.body;
    return {
      locale,
      title: format(strings.title),
      body: body === null ? null : format(body),
      labels: Object.fromEntries(
        [...fallback.labels, ...strings.labels].map(([id, label]) => [id, format(label)]),
      ),
    };
  }

  /**
   * As render(), for data that problemsWith() accepted, but never failing: where the locale
   * cannot format it (its Intl refuses a style) or its title renders blank, the default locale's
   * text is taken (`locale` says which was); a label that renders blank, the default locale's.
   */
  renderSafely(
    locale: string,
    data: Record<string, unknown>,
    group: GroupValues | null,
    timeZone: string | null = null,
  ): Rendered {
    const fallback = () => this.render(this.defaultLocale, data, group, timeZone);
    let own: Rendered;
    try {
      own = this.render(locale, data, group, timeZone);
    } catch {
      return fallback();
    }
    if (!/\S/.test(own.title)) return fallback();
    const blank = Object.keys(own.labels).filter((id) => !/\S/.test(own.labels[id]));
    if (blank.length === 0) return own;
    const defaults = fallback().labels;
    const labels = { ...own.labels };
    for (const id of blank) {
      if (defaults[id] === undefined) delete labels[id];
      else labels[id] = defaults[id];
    }
    return { ...own, labels };
  }

  /**
   * A locale's strings, compiled to write dates in `timeZone` when it matters; in the server's
   * zone when Intl does not know that one (a preference stored before an ICU update dropped it),
   * so that rendering never fails.
   */
  private stringsOf(locale: string, timeZone: string | null): CompiledStrings {
    if (timeZone === null || !this.usesDates) return this.strings.get(locale)!;
    const key = `${locale} ${timeZone}`;
    let strings = this.zoned.get(key);
    if (!strings) {
      strings =
        canonicalTimeZone(timeZone) === null
          ? this.strings.get(locale)!
          : compiled(locale, this.parsed.get(locale)!, formattersIn(timeZone));
      if (this.zoned.size >= ZONED_CACHE) this.zoned.clear();
      this.zoned.set(key, strings);
    }
    return strings;
  }

  private values(
    locale: string,
    data: Record<string, unknown>,
    group: GroupValues | null,
  ): Record<string, string | number | Date> {
    const values: Record<string, string | number | Date> = { count: 1, actors: '' };
    for (const [name, raw] of Object.entries(data)) {
      const kind =
        this.needs.get(name) ?? (GIVEN_KIND as Record<string, ArgumentKind>)[name] ?? 'text';
      const value = valueOf(raw, kind);
      if (Array.isArray(value)) values[name] = this.list(locale, value);
      else if (value !== undefined) values[name] = value;
    }
    if (group) {
      values.count = group.count;
      values.actors = this.list(locale, group.actors);
    }
    return values;
  }

  /** As the locale writes a list: "Ada, Bob, and Cy" in English, "Ada, Bob und Cy" in German. */
  private list(locale: string, names: readonly string[]): string {
    let format = this.lists.get(locale);
    if (!format) {
      format = new Intl.ListFormat(locale, { type: 'conjunction' });
      this.lists.set(locale, format);
    }
    return format.format(names);
  }
}

function compiled(
  locale: string,
  strings: ParsedStrings,
  formatters?: Formatters,
): CompiledStrings {
  const compile = (ast: MessageFormatElement[]) =>
    new IntlMessageFormat(ast, locale, undefined, { ignoreTag: true, formatters });
  return {
    title: compile(strings.title),
    body: strings.body === null ? null : compile(strings.body),
    labels: strings.labels.map(([id, label]) => [id, compile(label)]),
  };
}

const GIVEN_KIND: Record<(typeof GIVEN)[number], ArgumentKind> = {
  count: 'number',
  actors: 'text',
};

function fieldsOf(strings: TemplateStrings): [string, string][] {
  return [
    ['title', strings.title],
    ...(strings.body === undefined ? [] : ([['body', strings.body]] as [string, string][])),
    ...Object.entries(strings.actions ?? {}).map(
      ([id, label]) => [`actions.${id}`, label] as [string, string],
    ),
  ];
}

/** The parser's error kind and where: `MISSING_OTHER_CLAUSE at 1:24`. */
function describe(error: unknown): string {
  const { message, location } = error as {
    message: string;
    location?: { start: { line: number; column: number } };
  };
  return location ? `${message} at ${location.start.line}:${location.start.column}` : message;
}

function limitProblems(rendered: Rendered): string[] {
  const problems: string[] = [];
  const check = (field: string, text: string, limit: number) => {
    if (!/\S/.test(text)) problems.push(`${field} renders blank in ${rendered.locale}`);
    else if (text.length > limit) {
      problems.push(`${field} renders longer than ${limit} characters in ${rendered.locale}`);
    }
  };
  check('title', rendered.title, RENDERED_LIMITS.title);
  if (rendered.body !== null && rendered.body.length > RENDERED_LIMITS.body) {
    problems.push(
      `body renders longer than ${RENDERED_LIMITS.body} characters in ${rendered.locale}`,
    );
  }
  for (const [id, label] of Object.entries(rendered.labels)) {
    check(`actions.${id} label`, label, RENDERED_LIMITS.label);
  }
  return problems;
}
