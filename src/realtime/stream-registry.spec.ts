import { StreamRegistry } from './stream-registry';

const ada = { userId: 'ada', tenantId: null };

describe('StreamRegistry.reserve', () => {
  it('counts places held for streams still opening toward the cap', () => {
    const registry = new StreamRegistry();
    const first = registry.reserve(ada, 2);
    const second = registry.reserve(ada, 2);
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    // Neither stream is added yet: a third request checking now must still be refused.
    expect(registry.reserve(ada, 2)).toBeNull();
    expect(registry.reserve({ userId: 'bob', tenantId: null }, 2)).not.toBeNull();
  });

  it('gives a place back once, whether the stream was added or the request ended first', () => {
    const registry = new StreamRegistry();
    const release = registry.reserve(ada, 1)!;
    const stream = { receive: () => undefined };
    registry.add(ada, stream);
    release();
    release(); // the request's close after the add: no second give-back
    expect(registry.reserve(ada, 1)).toBeNull(); // the added stream holds the place
    registry.remove(ada, stream);
    expect(registry.reserve(ada, 1)).not.toBeNull();
  });
});
