/** The deepest nesting of arrays and objects taken in a request body or a message. */
export const MAX_JSON_DEPTH = 32;

/**
 * Why a text cannot be taken in as it is, or undefined. NUL: PostgreSQL stores no NUL in text or
 * jsonb. A lone surrogate: UTF-8 turns it into U+FFFD, so it would be stored and compared as
 * another text than the one received (two different user ids would name one user).
 */
export function malformedText(text: string): string | undefined {
  if (text.includes('\u0000')) return 'a text contains NUL (\\u0000)';
  if (!text.isWellFormed()) return 'a text contains a lone surrogate (not valid Unicode)';
  return undefined;
}

/**
 * Why a parsed JSON value cannot be taken in, or undefined: a key or string as malformedText
 * says, or nesting deeper than `maxDepth` (validation recurses, and would overflow the stack).
 * Iterative, so a value of any depth is checked without recursion.
 */
export function malformedJson(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [current, depth] = next;
    if (typeof current === 'string') {
      const reason = malformedText(current);
      if (reason) return reason;
    } else if (typeof current === 'object' && current !== null) {
      if (depth >= maxDepth) return `nested deeper than ${maxDepth} levels`;
      for (const [key, child] of Object.entries(current)) {
        const reason = malformedText(key);
        if (reason) return reason;
        pending.push([child, depth + 1]);
      }
    }
  }
  return undefined;
}
