import { turnBatch } from './turn-batch';

describe('turnBatch', () => {
  it('answers every key asked for in one turn from one call, in order, twice-asked keys too', async () => {
    const calls: string[][] = [];
    const length = turnBatch((keys: readonly string[]) => {
      calls.push([...keys]);
      return Promise.resolve(keys.map((key) => key.length));
    });
    // Callbacks of one turn: an immediate's and those its promises run.
    const answers = await new Promise<Promise<number>[]>((resolve) =>
      setImmediate(() => {
        const first = [length('a'), length('bb')];
        void Promise.resolve().then(() => resolve([...first, length('a'), length('cccc')]));
      }),
    );
    expect(await Promise.all(answers)).toEqual([1, 2, 1, 4]);
    expect(calls).toEqual([['a', 'bb', 'a', 'cccc']]);

    expect(await length('next turn')).toBe(9);
    expect(calls).toHaveLength(2);
  });

  it('collects keys from separate I/O callbacks of the same turn', async () => {
    const calls: number[][] = [];
    const double = turnBatch((keys: readonly number[]) => {
      calls.push([...keys]);
      return Promise.resolve(keys.map((key) => key * 2));
    });
    // Two immediates queued together run in the same turn, each as its own callback.
    const answers = await Promise.all(
      [1, 2].map(
        (key) => new Promise<number>((resolve) => setImmediate(() => resolve(double(key)))),
      ),
    );
    expect(answers).toEqual([2, 4]);
    expect(calls).toEqual([[1, 2]]);
  });

  it('rejects each key of a batch that failed, and the next batch is unaffected', async () => {
    let fail = true;
    const load = turnBatch((keys: readonly string[]) =>
      fail ? Promise.reject(new Error('storage away')) : Promise.resolve(keys.map(() => 'ok')),
    );
    const results = await Promise.allSettled([load('x'), load('y')]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    fail = false;
    expect(await load('z')).toBe('ok');
  });
});
