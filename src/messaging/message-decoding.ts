import type { Logger } from '@nestjs/common';
import type { ConsumeMessage } from 'amqplib';
import { DomainError } from '../common/domain-error';
import { malformedJson } from '../common/well-formed';
import { TemplateError } from '../notifications/templates/template';

/** Why a message goes to the dead-letter queue; the text of its `x-herald-error` header. */
export class DeadLetterReason extends Error {
  constructor(
    readonly code:
      | 'too-large'
      | 'unsupported-content-type'
      | 'invalid-json'
      | 'no-handler'
      | 'invalid'
      | 'template'
      | 'storage-unavailable'
      | 'internal',
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

interface DecodedMessage {
  /** What handlers are matched against: the routing key, or an envelope's `pattern`. */
  pattern: string;
  data: unknown;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isNestEnvelope(body: unknown): body is { pattern: string; data: unknown } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const keys = Object.keys(body);
  const envelope = body as { pattern?: unknown; data?: unknown };
  return (
    typeof envelope.pattern === 'string' &&
    'data' in envelope &&
    keys.every((key) => key === 'pattern' || key === 'data' || key === 'id')
  );
}

/**
 * Turns raw AMQP content into a pattern and a body, or says why it never can: too large, not
 * JSON, not UTF-8, nested too deep, or text that cannot be stored as it is (malformedJson). Plain JSON is dispatched on its routing key; NestJS's `{ pattern, data }`
 * envelope (what `ClientProxy.emit` sends) on its pattern.
 */
export function decodeMessage(message: ConsumeMessage, maxBytes: number): DecodedMessage {
  const contentType: unknown = message.properties.contentType;
  if (typeof contentType === 'string' && contentType && !/json/i.test(contentType)) {
    throw new DeadLetterReason('unsupported-content-type', `${contentType}, expected JSON`);
  }
  const body = decodeJson(message.content, maxBytes);
  if (isNestEnvelope(body)) return { pattern: body.pattern, data: body.data };
  return { pattern: message.fields.routingKey, data: body };
}

/**
 * A message's bytes as JSON, whichever way it came in; DeadLetterReason when it is too large, not
 * UTF-8, not JSON, or JSON that cannot be stored as it is (malformedJson).
 */
export function decodeJson(content: Buffer, maxBytes: number): unknown {
  if (content.length > maxBytes) {
    throw new DeadLetterReason('too-large', `${content.length} bytes, the limit is ${maxBytes}`);
  }
  let body: unknown;
  try {
    body = JSON.parse(utf8.decode(content));
  } catch (error) {
    throw new DeadLetterReason('invalid-json', (error as Error).message.slice(0, 200));
  }
  const malformed = malformedJson(body);
  if (malformed) throw new DeadLetterReason('invalid', malformed);
  return body;
}

/**
 * Why a message that failed goes to the dead letters: its own reason, the kind of a domain error
 * (storage down after every retry, a template that cannot render it, or invalid), else
 * `internal`, which is logged with its stack.
 */
export function deadLetterReasonOf(error: unknown, logger: Logger): DeadLetterReason {
  if (error instanceof DeadLetterReason) return error;
  if (error instanceof TemplateError) return new DeadLetterReason('template', error.message);
  if (error instanceof DomainError) {
    return new DeadLetterReason(
      error.kind === 'unavailable' ? 'storage-unavailable' : 'invalid',
      error.message,
    );
  }
  logger.error(`Unexpected error handling a message: ${(error as Error)?.stack ?? String(error)}`);
  return new DeadLetterReason('internal', (error as Error)?.message ?? String(error));
}

/** AMQP topic matching: `*` is one word, `#` zero or more; used to find a message's handler. */
export function topicMatches(binding: string, key: string): boolean {
  const match = (b: string[], k: string[]): boolean => {
    if (b.length === 0) return k.length === 0;
    const [head, ...rest] = b;
    if (head === '#') return match(rest, k) || (k.length > 0 && match(b, k.slice(1)));
    return k.length > 0 && (head === '*' || head === k[0]) && match(rest, k.slice(1));
  };
  return match(binding.split('.'), key.split('.'));
}
