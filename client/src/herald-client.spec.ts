import { reconnectDelay } from './herald-client.js';

describe('reconnectDelay', () => {
  it('doubles from the first delay up to the longest, with ±50 % jitter', () => {
    const middle = () => 0.5;
    expect(
      [0, 1, 2, 3, 10, 100].map((attempt) => reconnectDelay(attempt, 500, 30_000, middle)),
    ).toEqual([500, 1000, 2000, 4000, 30_000, 30_000]);
    expect(reconnectDelay(2, 500, 30_000, () => 0)).toBe(1000);
    expect(reconnectDelay(2, 500, 30_000, () => 0.999)).toBe(2998);
  });
});
