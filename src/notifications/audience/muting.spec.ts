import { isMuted } from './muting';

describe('isMuted', () => {
  it.each([
    ['promo.weekly', ['promo.weekly'], true],
    ['promo.weekly', ['promo.*'], true],
    ['promo.x.y', ['promo.*'], true],
    ['promo', ['promo.*'], false],
    ['promotion.x', ['promo.*'], false],
    ['order.shipped', ['promo.*', 'chat.message'], false],
    ['chat.message', [], false],
  ])('%s with %j → %s', (type, muted, expected) => {
    expect(isMuted({ type, category: null }, { mutedTypes: muted, mutedCategories: [] })).toBe(
      expected,
    );
  });

  it.each([
    ['social', ['social'], true],
    ['social', ['social.comments'], false],
    ['social.comments', ['social'], false],
    [null, ['social'], false],
  ])('category %s with muted categories %j → %s', (category, mutedCategories, expected) => {
    const muting = { mutedTypes: [], mutedCategories };
    expect(isMuted({ type: 'comment.created', category }, muting)).toBe(expected);
  });
});
