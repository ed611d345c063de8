import { type MessageFormatElement, TYPE } from '@formatjs/icu-messageformat-parser';

/** How an argument is used, and so what its value must be. */
export type ArgumentKind = 'text' | 'number' | 'date';

/** What a value must be for each kind, as problems name it. */
export const KIND_RULE: Record<ArgumentKind, string> = {
  text: 'a string, a number, a boolean or a list of strings',
  number: 'a number',
  date: 'an ISO 8601 date-time or a number of milliseconds',
};

/**
 * The value an argument of `kind` formats (a list of names is written as the locale writes a
 * list), or undefined when `raw` cannot be one.
 */
export function valueOf(
  raw: unknown,
  kind: ArgumentKind,
): string | number | Date | string[] | undefined {
  switch (kind) {
    case 'number':
      return typeof raw === 'number' && Number.isFinite(raw) ? raw : undefined;
    case 'date': {
      const date = typeof raw === 'string' || typeof raw === 'number' ? new Date(raw) : null;
      return date && !Number.isNaN(date.getTime()) ? date : undefined;
    }
    case 'text':
      if (typeof raw === 'string' || typeof raw === 'number') return raw;
      if (typeof raw === 'boolean') return String(raw);
      return Array.isArray(raw) && raw.every((each) => typeof each === 'string') ? raw : undefined;
  }
}

/** What a template's strings use: each argument and how, and whether any writes a date. */
export interface Uses {
  needs: Map<string, ArgumentKind>;
  dates: boolean;
}

/** Each argument the strings use, and how: `{n, plural}` needs a number, `{d, date}` a date. */
export function collectArguments(elements: MessageFormatElement[], into: Uses): void {
  const use = (name: string, kind: ArgumentKind) => {
    if (into.needs.get(name) === undefined || kind !== 'text') into.needs.set(name, kind);
  };
  for (const element of elements) {
    switch (element.type) {
      case TYPE.argument:
        use(element.value, 'text');
        break;
      case TYPE.number:
        use(element.value, 'number');
        break;
      case TYPE.date:
      case TYPE.time:
        use(element.value, 'date');
        into.dates = true;
        break;
      case TYPE.select:
        use(element.value, 'text');
        for (const option of Object.values(element.options)) collectArguments(option.value, into);
        break;
      case TYPE.plural:
        use(element.value, 'number');
        for (const option of Object.values(element.options)) collectArguments(option.value, into);
        break;
      case TYPE.tag:
        collectArguments(element.children, into);
        break;
    }
  }
}
