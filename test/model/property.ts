import fc from 'fast-check';
import type { StorageKind } from '../support/storage';
import { scenario } from './operations';
import { RunFigures, runScenario } from './runner';

export interface ModelCheck {
  storage: StorageKind;
  /** Runs at most (each a fresh world and a generated sequence of operations). */
  numRuns: number;
  maxOperations: number;
  /** Replays a failure: fast-check prints both (or set HERALD_MODEL_SEED / HERALD_MODEL_PATH). */
  seed?: number;
  path?: string;
  /** No new run starts after this long (the runs left pass without running). */
  timeLimitMs?: number;
  /** Shrink a failure to a smaller sequence (each step is a real run: slow). */
  shrink?: boolean;
  strictExpiryCounts?: boolean;
  /** Each operation as it runs. */
  log?: (line: string) => void;
  /** After each run that passed. */
  onRun?: (figures: RunFigures) => void;
}

/** The options of a check from the environment: HERALD_MODEL_SEED, _PATH, _RUNS, _SHRINK,
 * _STRICT_EXPIRY, _VERBOSE. */
export function fromEnvironment(): Partial<ModelCheck> {
  const env = process.env;
  return {
    ...(env.HERALD_MODEL_SEED && { seed: Number(env.HERALD_MODEL_SEED) }),
    ...(env.HERALD_MODEL_PATH && { path: env.HERALD_MODEL_PATH }),
    ...(env.HERALD_MODEL_RUNS && { numRuns: Number(env.HERALD_MODEL_RUNS) }),
    ...(env.HERALD_MODEL_SHRINK && { shrink: env.HERALD_MODEL_SHRINK === '1' }),
    ...(env.HERALD_MODEL_STRICT_EXPIRY && {
      strictExpiryCounts: env.HERALD_MODEL_STRICT_EXPIRY === '1',
    }),
    ...(env.HERALD_MODEL_VERBOSE === '1' && { log: (line: string) => console.log(line) }),
  };
}

/**
 * The property: for every generated scenario, real Heralds end up exactly where the model says.
 * Throws fast-check's report (seed, path, the operations, what differed) on the first failure.
 */
export async function checkModel(check: ModelCheck): Promise<{ seed: number; runs: number }> {
  const seed = check.seed ?? Date.now() ^ (Math.random() * 0x100000000);
  // Checked before each run, never during one: fast-check's own time limit abandons a run under
  // way, which would leave its Heralds running.
  const deadline = check.timeLimitMs === undefined ? Infinity : Date.now() + check.timeLimitMs;
  let runs = 0;
  const property = fc.asyncProperty(
    scenario(check.maxOperations, check.storage === 'postgres'),
    async (generated) => {
      if (Date.now() > deadline) return;
      const figures = await runScenario(check.storage, generated, {
        strictExpiryCounts: check.strictExpiryCounts,
        log: check.log,
      });
      runs += 1;
      check.onRun?.(figures);
    },
  );
  try {
    await fc.assert(property, {
      numRuns: check.numRuns,
      seed,
      ...(check.path !== undefined && { path: check.path }),
      endOnFailure: !check.shrink,
      // What differed, in the report itself (Jest prints a cause only in part).
      includeErrorInReport: true,
    });
  } catch (error) {
    const path = /path: "([^"]*)"/.exec((error as Error).message)?.[1];
    (error as Error).message +=
      `\nReplay: HERALD_MODEL_SEED=${seed} HERALD_MODEL_PATH=${path ?? ''} with storage ${check.storage}` +
      ` and at most ${check.maxOperations} operations (test:soak: --storage ${check.storage}` +
      ` --max-operations ${check.maxOperations} --seed ${seed} --path ${path ?? ''})`;
    throw error;
  }
  return { seed, runs };
}
