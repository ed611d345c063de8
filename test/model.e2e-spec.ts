// The model-based test (issue 16): generated sequences of operations — bursts, fan-outs,
// broadcasts, scheduled and expiring notifications, mutes, read/archive/delete, streams opened at
// any position, RabbitMQ cut off, kill -9 — against the built Herald as processes of their own on
// real RabbitMQ and storage, checked against a reference model (test/model/). A short run here;
// `npm run test:soak` runs the same property for longer. A failure prints its seed and path:
// HERALD_MODEL_SEED=<seed> HERALD_MODEL_PATH=<path> replays it (HERALD_MODEL_VERBOSE=1 logs each
// operation).
import { checkModel, fromEnvironment } from './model/property';
import { STORAGE_KINDS } from './support/storage';

const RUNS = 3;
/** Per storage: no new run starts after this (a run takes 3–20 s). */
const TIME_LIMIT_MS = 20_000;

describe.each(STORAGE_KINDS)('the model-based test on %s', (storage) => {
  it('keeps every inbox, count and stream as the model says', async () => {
    const { seed, runs } = await checkModel({
      storage,
      numRuns: RUNS,
      maxOperations: 12,
      timeLimitMs: TIME_LIMIT_MS,
      ...fromEnvironment(),
    });
    expect(runs).toBeGreaterThan(0);
    console.log(`model test on ${storage}: ${runs} runs passed (seed ${seed})`);
  }, 180_000);
});
