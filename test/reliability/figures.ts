import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

/** Where the last run's figures go; docs/RELIABILITY.md quotes them. */
export const FIGURES_FILE = 'test-results/reliability.json';

/**
 * Records the figures of one test (messages, faults injected, lost, duplicated, recovery times)
 * under `name`, next to those of the other tests of the run.
 */
export function recordFigures(name: string, figures: Record<string, unknown>): void {
  mkdirSync('test-results', { recursive: true });
  const all = existsSync(FIGURES_FILE)
    ? (JSON.parse(readFileSync(FIGURES_FILE, 'utf8')) as Record<string, unknown>)
    : {};
  all[name] = { ...figures, at: new Date().toISOString() };
  writeFileSync(FIGURES_FILE, `${JSON.stringify(all, null, 2)}\n`);
  console.log(`${name}: ${JSON.stringify(figures)}`);
}
