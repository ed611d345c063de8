import { parseTtl } from './token';

describe('parseTtl', () => {
  it.each([
    ['90s', 90],
    ['15m', 900],
    ['1h', 3600],
    ['7d', 604800],
    ['120', 120],
  ])('reads %s as %i seconds', (text, seconds) => {
    expect(parseTtl(text)).toBe(seconds);
  });

  it.each(['', '0', '1w', '-5m', '1.5h', 'soon'])('refuses %j', (text) => {
    expect(parseTtl(text)).toBeNull();
  });
});
