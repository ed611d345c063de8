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
    expect(isMuted(type, muted)).toBe(expected);
  });
});
