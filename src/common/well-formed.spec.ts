import { malformedJson, malformedText } from './well-formed';

describe('well-formed input', () => {
  it('takes ordinary text, emoji and other scripts', () => {
    for (const text of ['hello', 'héllo 😀', 'مرحبا', '\u202eRTL', '']) {
      expect([text, malformedText(text)]).toEqual([text, undefined]);
    }
  });

  it('refuses NUL and lone surrogates, in values and in keys', () => {
    expect(malformedText('a\u0000b')).toMatch(/NUL/);
    expect(malformedText('\ud800')).toMatch(/lone surrogate/);
    expect(malformedText('x\udfffy')).toMatch(/lone surrogate/);
    expect(malformedJson({ title: 'ok', data: { list: ['fine', 'bad\u0000'] } })).toMatch(/NUL/);
    expect(malformedJson({ ['\ud83d']: 1 })).toMatch(/lone surrogate/);
  });

  it('refuses nesting past the limit, however deep, without recursion', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level += 1) deep = { a: deep };
    expect(malformedJson(deep)).toBe('nested deeper than 32 levels');
    let fine: unknown = 1;
    for (let level = 0; level < 32; level += 1) fine = [fine];
    expect(malformedJson(fine)).toBeUndefined();
  });
});
