// npm run test:soak — the model-based test (test/model.e2e-spec.ts) for longer: round after round
// of generated runs, alternating PostgreSQL and PGlite, until the time budget is spent or a run
// fails. A failure prints its seed and path; `--seed <n> --path <p>` replays it.
import globalSetup from '../support/global-setup';
import globalTeardown from '../support/global-teardown';
import { STORAGE_KINDS, StorageKind } from '../support/storage';
import { checkModel, fromEnvironment } from './property';

const HELP = `npm run test:soak -- [options]

Runs the model-based test (generated operations against real Herald processes, RabbitMQ,
PostgreSQL and PGlite, checked against a reference model) until the budget is spent.

  --budget <time>        total time, e.g. 90s, 10m, 2h (default 10m; env HERALD_SOAK_BUDGET)
  --storage <kind>       postgres, pglite or both (default both, alternating)
  --max-operations <n>   operations per run at most (default 40)
  --runs <n>             runs per round (default 5; a round has one seed)
  --seed <n> --path <p>  replay a failure (fast-check prints both); one round only
  --shrink               shrink a failure to a smaller sequence (each step is a real run)
  --strict-expiry        also fail when a stream's count missed an expiry no change followed
  --verbose              log every operation
  --help                 this text

Needs what npm run test:e2e needs (PostgreSQL, RabbitMQ, a build: npm run test:soak builds).`;

function parseDuration(text: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw new Error(`not a duration: ${text} (e.g. 90s, 10m, 2h)`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[match[2] ?? 's'];
  return Number(match[1]) * unit!;
}

function parseArguments(argv: string[]) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(HELP);
    process.exit(0);
  }
  const options = {
    budgetMs: parseDuration(process.env.HERALD_SOAK_BUDGET ?? '10m'),
    storages: STORAGE_KINDS,
    maxOperations: 40,
    runs: 5,
    seed: undefined as number | undefined,
    path: undefined as string | undefined,
    shrink: false,
    strictExpiry: false,
    verbose: false,
  };
  for (let i = 0; i < argv.length; i += 1) {
    const value = () => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${argv[i - 1]} needs a value`);
      return next;
    };
    switch (argv[i]) {
      case '--budget':
        options.budgetMs = parseDuration(value());
        break;
      case '--storage': {
        const kind = value();
        if (kind !== 'both' && !STORAGE_KINDS.includes(kind as StorageKind)) {
          throw new Error(`--storage: postgres, pglite or both, not ${kind}`);
        }
        options.storages = kind === 'both' ? STORAGE_KINDS : [kind as StorageKind];
        break;
      }
      case '--max-operations':
        options.maxOperations = Number(value());
        break;
      case '--runs':
        options.runs = Number(value());
        break;
      case '--seed':
        options.seed = Number(value());
        break;
      case '--path':
        options.path = value();
        break;
      case '--shrink':
        options.shrink = true;
        break;
      case '--strict-expiry':
        options.strictExpiry = true;
        break;
      case '--verbose':
        options.verbose = true;
        break;
      default:
        throw new Error(`unknown option ${argv[i]} (--help lists them)`);
    }
  }
  return options;
}

async function main(): Promise<void> {
  const options = parseArguments(process.argv.slice(2));
  const started = Date.now();
  const deadline = started + options.budgetMs;
  const time = () => new Date().toISOString().slice(11, 19);
  const totals = { runs: 0, operations: 0, rows: 0, wideRows: 0, events: 0, reconnects: 0 };
  await globalSetup();
  let failed = false;
  try {
    for (let round = 0; Date.now() < deadline; round += 1) {
      const storage = options.storages[round % options.storages.length];
      const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
      console.log(`[soak ${time()}] round ${round + 1} on ${storage}, seed ${seed}`);
      let inRound = 0;
      await checkModel({
        ...fromEnvironment(),
        storage,
        numRuns: options.runs,
        maxOperations: options.maxOperations,
        seed,
        path: options.path,
        shrink: options.shrink,
        strictExpiryCounts: options.strictExpiry,
        timeLimitMs: Math.max(1, deadline - Date.now()),
        ...(options.verbose && { log: (line: string) => console.log(`  ${line}`) }),
        onRun: (figures) => {
          inRound += 1;
          totals.runs += 1;
          totals.operations += figures.operations;
          totals.rows += figures.rows;
          totals.wideRows += figures.wideRows;
          totals.events += figures.streamEvents;
          totals.reconnects += figures.reconnects;
          console.log(
            `[soak ${time()}] ${storage} seed ${seed} run ${inRound}: ${figures.operations} operations, ` +
              `${figures.rows} rows (+${figures.wideRows} generated users), ${figures.streamEvents} stream events, ` +
              `${figures.reconnects} reconnects, ${(figures.ms / 1000).toFixed(1)} s | total ${totals.runs} runs, ` +
              `${totals.operations} operations`,
          );
        },
      });
      if (options.seed !== undefined) break; // a replay is one round
    }
  } catch (error) {
    failed = true;
    console.error(`[soak ${time()}] FAILED\n${(error as Error).message}`);
  } finally {
    await globalTeardown();
  }
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  console.log(
    `[soak ${time()}] ${failed ? 'failed' : 'passed'} after ${minutes} min: ${totals.runs} runs, ` +
      `${totals.operations} operations, ${totals.rows} pool rows, ${totals.wideRows} generated-user rows, ` +
      `${totals.events} stream events, ${totals.reconnects} stream reconnects`,
  );
  process.exit(failed ? 1 : 0);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(2);
});
