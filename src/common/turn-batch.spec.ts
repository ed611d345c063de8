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

describe('turnBatch while a query runs', () => {
  it('lets the next query collect the keys of several turns', async () => {
    const calls: number[][] = [];
    const answers: (() => void)[] = [];
    const square = turnBatch((keys: readonly number[]) => {
      calls.push([...keys]);
      return new Promise<number[]>((resolve) =>
        answers.push(() => resolve(keys.map((key) => key * key))),
      );
    });
    const turn = () => new Promise((resolve) => setImmediate(resolve));
    const results: Promise<number>[] = [square(1)];
    await turn();
    expect(calls).toEqual([[1]]);
    // The first query runs: the keys of the next turns wait, and go together.
    for (const key of [2, 3, 4]) {
      results.push(square(key));
      await turn();
    }
    expect(calls).toEqual([[1]]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(calls).toEqual([[1], [2, 3, 4]]);
    answers.splice(0).forEach((answer) => answer());
    expect(await Promise.all(results)).toEqual([1, 4, 9, 16]);
    // Idle again: the next key goes in the next turn.
    const alone = square(5);
    await turn();
    expect(calls).toEqual([[1], [2, 3, 4], [5]]);
    answers.splice(0).forEach((answer) => answer());
    expect(await alone).toBe(25);
  });
});
