import { CompiledTemplate } from './compiled-template';
import type { TemplateDefinition } from './template';

const comments: TemplateDefinition = {
  defaultLocale: 'en',
  locales: {
    en: { title: '{count, plural, one {# new comment} other {# new comments}}' },
    pl: {
      title:
        '{count, plural, one {# nowy komentarz} few {# nowe komentarze} many {# nowych komentarzy} other {# komentarza}}',
    },
    ru: {
      title:
        '{count, plural, one {# новый комментарий} few {# новых комментария} many {# новых комментариев} other {# комментария}}',
    },
    ar: {
      title:
        '{count, plural, zero {لا تعليقات} one {تعليق واحد} two {تعليقان} few {# تعليقات} many {# تعليقًا} other {# تعليق}}',
    },
  },
};

describe('CompiledTemplate', () => {
  const template = CompiledTemplate.compile('comments', comments);
  const title = (locale: string, count: number) =>
    template.render(locale, {}, { count, actors: [] }).title;

  it.each([
    // English: one, other.
    ['en', [1, 2, 5, 21], ['1 new comment', '2 new comments', '5 new comments', '21 new comments']],
    // Polish: one only for 1; few for 2-4, 22-24 but not 12-14; many for the rest.
    [
      'pl',
      [1, 2, 5, 12, 22, 25],
      [
        '1 nowy komentarz',
        '2 nowe komentarze',
        '5 nowych komentarzy',
        '12 nowych komentarzy',
        '22 nowe komentarze',
        '25 nowych komentarzy',
      ],
    ],
    // Russian: one also for 21 and 101.
    [
      'ru',
      [1, 3, 11, 21, 101],
      [
        '1 новый комментарий',
        '3 новых комментария',
        '11 новых комментариев',
        '21 новый комментарий',
        '101 новый комментарий',
      ],
    ],
    // Arabic: zero, one, two, few (3-10), many (11-99), other (100…).
    [
      'ar',
      [0, 1, 2, 3, 11, 100],
      ['لا تعليقات', 'تعليق واحد', 'تعليقان', '3 تعليقات', '11 تعليقًا', '100 تعليق'],
    ],
  ])('chooses the plural form of %s', (locale, counts, expected) => {
    expect(counts.map((count) => title(locale, count))).toEqual(expected);
  });

  it.each([
    ['de-AT', 'en'],
    ['pl-PL', 'pl'],
    ['ru', 'ru'],
    ['ar-EG', 'ar'],
    ['en-GB', 'en'],
    ['fr', 'en'],
    [null, 'en'],
  ])('renders a reader of %s in %s', (wanted, locale) => {
    expect(template.localeFor(wanted)).toBe(locale);
  });

  it('takes the nearest locale: de-AT reads de, pt reads pt-BR', () => {
    const greetings = CompiledTemplate.compile('hi', {
      defaultLocale: 'en',
      locales: { en: { title: 'Hi' }, de: { title: 'Hallo' }, 'pt-BR': { title: 'Olá' } },
    });
    expect(['de-AT', 'de-CH', 'pt', 'pt-PT', 'ja'].map((l) => greetings.localeFor(l))).toEqual([
      'de',
      'de',
      'pt-BR',
      'pt-BR',
      'en',
    ]);
  });

  it('formats arguments by kind: numbers, dates, lists, select; tags stay text', () => {
    const order = CompiledTemplate.compile('order', {
      defaultLocale: 'de',
      locales: {
        de: {
          title: '<b>{total, number}</b> € am {day, date, short}',
          body: '{actors} und {status, select, late {verspätet} other {pünktlich}}',
        },
      },
    });
    const data = { total: 1234.5, day: '2026-12-24T12:00:00Z', status: 'late' };
    expect(order.problemsWith(data, null)).toEqual([]);
    expect(order.render('de', data, { count: 3, actors: ['Ada', 'Bob', 'Cy'] })).toEqual({
      locale: 'de',
      title: '<b>1.234,5</b> € am 24.12.26',
      body: 'Ada, Bob und Cy und verspätet',
      labels: {},
    });
  });

  it("writes dates and times in the reader's time zone, whatever their style", () => {
    const due = CompiledTemplate.compile('due', {
      defaultLocale: 'en',
      locales: {
        en: {
          title: 'Due {day, date, short} at {day, time, short}',
          body: '{day, date} · {day, date, ::EEEEHHmm} · {n, plural, one {# item} other {# items}}',
        },
      },
    });
    const data = { day: '2026-12-24T23:30:00Z', n: 2 };
    const spaced = (text: string) => text.replace(/\s/g, ' ');
    const inZone = (zone: string) => {
      const { title, body } = due.render('en', data, null, zone);
      return [spaced(title), spaced(body!)];
    };
    expect(due.usesDates).toBe(true);
    expect(inZone('Asia/Tokyo')).toEqual([
      'Due 12/25/26 at 8:30 AM',
      '12/25/2026 · Friday 08:30 · 2 items',
    ]);
    expect(inZone('America/New_York')).toEqual([
      'Due 12/24/26 at 6:30 PM',
      '12/24/2026 · Thursday 18:30 · 2 items',
    ]);
    expect(inZone('+05:30')[0]).toBe('Due 12/25/26 at 5:00 AM');
    // A zone Intl no longer knows (stored before an ICU update): the server's, never a failure.
    expect(due.renderSafely('en', data, null, 'Mars/Olympus_Mons')).toEqual(
      due.render('en', data, null),
    );
    // Without a zone, the server's (TZ), as before.
    const server = new Intl.DateTimeFormat('en', { dateStyle: 'short' }).format(new Date(data.day));
    expect(due.render('en', data, null).title).toContain(server);
    // A template that writes no date renders the same in every zone.
    expect(template.usesDates).toBe(false);
    expect(template.render('en', {}, null, 'Asia/Tokyo')).toEqual(template.render('en', {}, null));
  });

  it('falls back to the default locale where another cannot format the data', () => {
    const price = CompiledTemplate.compile('price', {
      defaultLocale: 'en',
      locales: {
        en: { title: 'Now {n, number}' },
        // Parses, but Intl.NumberFormat refuses the currency when it formats.
        de: { title: 'Jetzt {n, number, ::currency/ABCD}' },
        fr: { title: 'Maintenant {n, number}', actions: { buy: '{blank}' } },
      },
    });
    expect(price.problemsWith({ n: 5, blank: ' ' }, null)).toEqual([]);
    expect(() => price.render('de', { n: 5 }, null)).toThrow(RangeError);
    expect(price.renderSafely('de', { n: 5 }, null)).toMatchObject({
      locale: 'en',
      title: 'Now 5',
    });
    expect(price.renderSafely('fr', { n: 5, blank: ' ' }, null)).toEqual({
      locale: 'fr',
      title: 'Maintenant 5',
      body: null,
      labels: {},
    });
  });

  it('names every argument that is missing or of the wrong kind', () => {
    const order = CompiledTemplate.compile('order', {
      defaultLocale: 'en',
      locales: {
        en: { title: '{n, plural, one {# item} other {# items}} for {name}' },
        de: { title: '{name}: {day, date}' },
      },
    });
    expect(order.problemsWith({}, null)).toEqual([
      'data.n is missing',
      'data.name is missing',
      'data.day is missing',
    ]);
    expect(order.problemsWith({ n: '2', name: { a: 1 }, day: 'soon' }, null)).toEqual([
      'data.n must be a number',
      'data.name must be a string, a number, a boolean or a list of strings',
      'data.day must be an ISO 8601 date-time or a number of milliseconds',
    ]);
    expect(order.problemsWith({ n: 2, name: 'x', day: 0, count: 'many' }, null)).toEqual([
      'data.count must be a number',
    ]);
  });

  it('refuses what renders blank or too long, naming the field and locale', () => {
    const echo = CompiledTemplate.compile('echo', {
      defaultLocale: 'en',
      locales: { en: { title: '{text}', actions: { ok: '{label}' } } },
    });
    expect(echo.problemsWith({ text: ' ', label: 'OK' }, null)).toEqual([
      'title renders blank in en',
    ]);
    expect(echo.problemsWith({ text: 'x'.repeat(501), label: 'y'.repeat(65) }, null)).toEqual([
      'title renders longer than 500 characters in en',
      'actions.ok label renders longer than 64 characters in en',
    ]);
  });

  it.each([
    [
      { title: '{count, plural, one {x}}' },
      'locales.en.title is not ICU MessageFormat: MISSING_OTHER_CLAUSE at 1:',
    ],
    [{ title: 'ok', body: 'Hello {name' }, 'locales.en.body is not ICU MessageFormat: '],
    [
      { title: 'ok', actions: { go: '{x, plural}' } },
      'locales.en.actions.go is not ICU MessageFormat',
    ],
    [{ title: '{d, date, ::invalid}' }, 'locales.en.title is not ICU MessageFormat'],
  ])('refuses %j, naming the locale and the field', (strings, message) => {
    const problems = CompiledTemplate.problemsOf({ defaultLocale: 'en', locales: { en: strings } });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(message);
  });
});
