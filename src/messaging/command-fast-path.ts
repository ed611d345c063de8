import { isDateString } from 'class-validator';
import { canonicalLocale } from '../common/locale';
import {
  CATEGORY,
  LINK,
  NAME,
  PRINTABLE,
  RecipientsSpec,
} from '../notifications/addressed-message';
import { CreateNotificationCommand } from '../notifications/intake/create-notification.command';
import { PRIORITIES } from '../notifications/notification';

/**
 * The CreateNotificationCommand that `validateInput` would build from `input`, for the shape
 * nearly every message has (named users, known fields, plain JSON data), without class-transformer
 * and class-validator, which cost a fifth of ingest's CPU; or undefined when the input is of any
 * other shape, or might be invalid, and must go through `validateInput` (which also says why it is
 * invalid). It never accepts what `validateInput` rejects, and builds the same instance
 * (command-fast-path.spec.ts compares the two on generated inputs); keep it in step with the
 * decorators of CreateNotificationCommand, AddressedMessage and RecipientsSpec.
 */
export function fastCommand(input: Record<string, unknown>): CreateNotificationCommand | undefined {
  const command = new CreateNotificationCommand();
  const fields = command as unknown as Record<string, unknown>;
  for (const key of Object.keys(input)) {
    const value = input[key];
    let taken: unknown = value;
    switch (key) {
      case 'id':
        if (!isText(value, 200, PRINTABLE)) return undefined;
        break;
      case 'title':
        if (!isText(value, 500, NOT_BLANK)) return undefined;
        break;
      case 'body':
        if (!isText(value, 10_000)) return undefined;
        break;
      case 'priority':
        if (!(PRIORITIES as readonly unknown[]).includes(value)) return undefined;
        break;
      case 'expiresAt':
      case 'deliverAt':
        if (typeof value !== 'string' || !isDateString(value, { strict: true })) return undefined;
        break;
      case 'type':
        if (typeof value !== 'string' || !NAME.test(value)) return undefined;
        break;
      case 'tenantId':
        if (!isText(value, 200, NO_CONTROL)) return undefined;
        break;
      case 'url':
        if (!isText(value, 2048, LINK)) return undefined;
        break;
      case 'category':
        if (typeof value !== 'string' || !CATEGORY.test(value)) return undefined;
        break;
      case 'template':
        if (typeof value !== 'string' || !NAME.test(value)) return undefined;
        break;
      case 'locale':
        if (canonicalLocale(value) === null) return undefined;
        break;
      case 'recipients':
        taken = namedUsers(value);
        if (taken === undefined) return undefined;
        break;
      case 'data':
        if (!isPlainObject(value)) return undefined;
        taken = plainCopy(value, 0);
        if (taken === undefined) return undefined;
        break;
      default:
        return undefined; // actions, sentAt (excluded), unknown fields, …: validateInput decides
    }
    fields[key] = taken;
  }
  // Required: recipients, type, and title unless a template renders it.
  if (command.recipients === undefined || command.type === undefined) return undefined;
  if (command.title === undefined && command.template === undefined) return undefined;
  return command;
}

const NOT_BLANK = /\S/;
const NO_CONTROL = /^[^\p{Cc}]*$/u;
/** As deep as malformedJson lets a message be; deeper goes the slow way. */
const MAX_DEPTH = 32;

/**
 * A string of at most `max` UTF-16 units (MaxLength counts a surrogate pair as one character, so
 * this never accepts a longer one), matching `pattern`.
 */
function isText(value: unknown, max: number, pattern?: RegExp): value is string {
  return typeof value === 'string' && value.length <= max && (!pattern || pattern.test(value));
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** `{ userIds }` alone, 1-1000 distinct printable ids of at most 200 characters. */
function namedUsers(value: unknown): RecipientsSpec | undefined {
  if (!isPlainObject(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1 || keys[0] !== 'userIds') return undefined;
  const userIds = value.userIds;
  if (!Array.isArray(userIds) || userIds.length === 0 || userIds.length > 1000) return undefined;
  for (const userId of userIds) if (!isText(userId, 200, PRINTABLE)) return undefined;
  if (userIds.length > 1 && new Set(userIds).size !== userIds.length) return undefined;
  const recipients = new RecipientsSpec();
  recipients.userIds = [...(userIds as string[])];
  return recipients;
}

/**
 * A copy of parsed JSON as class-transformer makes it, or undefined where it would not be a plain
 * copy: a key that names a property of Object.prototype (`constructor`, `__proto__`, `toString`,
 * …), which class-transformer leaves out or trips on.
 */
function plainCopy(value: unknown, depth: number): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH) return undefined;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (const item of value) {
      const each = plainCopy(item, depth + 1);
      if (each === undefined) return undefined;
      copy.push(each);
    }
    return copy;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (key in Object.prototype) return undefined;
    const each = plainCopy((value as Record<string, unknown>)[key], depth + 1);
    if (each === undefined) return undefined;
    copy[key] = each;
  }
  return copy;
}
