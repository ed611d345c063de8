import { compareIds } from '../notifications/notification';
import { SeenIds } from './seen-ids';

describe('compareIds', () => {
  it('orders ids as numbers, beyond what a double holds', () => {
    const ids = ['10', '9', '100', '9007199254740993', '9007199254740992', '11'];
    expect([...ids].sort(compareIds)).toEqual([
      '9',
      '10',
      '11',
      '100',
      '9007199254740992',
      '9007199254740993',
    ]);
  });
});

describe('SeenIds', () => {
  it('takes each id once, whatever the order it arrives in, and nothing at or below the floor', () => {
    const seen = new SeenIds('100');
    expect(['99', '100'].map((id) => seen.add(id))).toEqual(['seen', 'seen']);
    expect(seen.add('103')).toBe('new');
    expect(seen.newest).toBe('103');
    // Stored by another instance before 103, arriving after it.
    expect(seen.add('101')).toBe('new');
    expect(seen.newest).toBe('103');
    expect(['101', '103'].map((id) => seen.add(id))).toEqual(['seen', 'seen']);
    expect(seen.add('102')).toBe('new');
    expect(seen.add('104')).toBe('new');
    expect(seen.newest).toBe('104');
  });

  it('keeps 64 ids above the floor: one later than that cannot be told, and says so', () => {
    const seen = new SeenIds('0');
    for (let id = 2; id <= 130; id += 2) expect(seen.add(String(id))).toBe('new'); // 65 ids
    // The floor rose to 2, the oldest: 1 arrives too late to tell; 3 still counts.
    expect(seen.add('1')).toBe('unknown');
    expect(seen.add('2')).toBe('unknown');
    expect(seen.add('3')).toBe('new');
    expect(seen.newest).toBe('130');
  });
});
