import DataLoader from 'dataloader';

/** Keys one query takes at most; more wait for the next query. */
const MAX_BATCH = 500;
/** While a query of the lookup runs, how long the next one collects keys before it goes. */
const BUSY_WINDOW_MS = 10;

/**
 * One lookup per key, answered by one query per turn of the event loop: every key asked for
 * while the loop works through its I/O goes into the same `loadMany` call. When a query of the
 * lookup is running already (Herald is busy), the next one collects keys for BUSY_WINDOW_MS:
 * requests that come one per turn (a thousand browsers reconnecting after a deploy, as fast as
 * they are accepted) still share queries, where one query each made 20,000 queries for 10,000
 * streams. `loadMany` answers in the order of the keys; a key may come twice (two tabs).
 * Nothing is cached: each call reads what is stored now.
 */
export function turnBatch<K, V>(
  loadMany: (keys: readonly K[]) => Promise<V[]>,
): (key: K) => Promise<V> {
  let running = 0;
  const loader = new DataLoader<K, V>(
    async (keys) => {
      running += 1;
      try {
        return await loadMany(keys);
      } finally {
        running -= 1;
      }
    },
    {
      cache: false,
      maxBatchSize: MAX_BATCH,
      // DataLoader's default collects one callback's keys only; requests arrive one per callback.
      batchScheduleFn: (run) => (running > 0 ? setTimeout(run, BUSY_WINDOW_MS) : setImmediate(run)),
    },
  );
  return (key) => loader.load(key);
}
