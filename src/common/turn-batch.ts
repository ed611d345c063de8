import DataLoader from 'dataloader';

/** Keys one query takes at most; more wait for the next query. */
const MAX_BATCH = 500;

/**
 * One lookup per key, answered by one query per turn of the event loop: every key asked for
 * while the loop works through its I/O (say, a thousand browsers reconnecting after a deploy)
 * goes into the same `loadMany` call. `loadMany` answers in the order of the keys; a key may come
 * twice (two tabs). Nothing is cached: each call reads what is stored now.
 */
export function turnBatch<K, V>(
  loadMany: (keys: readonly K[]) => Promise<V[]>,
): (key: K) => Promise<V> {
  const loader = new DataLoader<K, V>(loadMany, {
    cache: false,
    maxBatchSize: MAX_BATCH,
    // DataLoader's default collects one callback's keys only; requests arrive one per callback.
    batchScheduleFn: (run) => setImmediate(run),
  });
  return (key) => loader.load(key);
}
