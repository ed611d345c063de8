/**
 * The Node.js Herald runs on, checked before anything else loads: NestJS 12 is ESM-only and
 * Herald is CommonJS, which takes Node's require(esm) as it is in Node 24.9 and later. On an
 * older Node, say so in one line and stop, instead of failing somewhere inside a package.
 *
 * Imported first by every entry point (main.ts, cli/*.ts); keep in step with package.json
 * "engines", .node-version and scripts/node.sh (runtime.spec.ts checks the first two).
 */
export const MINIMUM_NODE = '24.9.0';

/** The one-line refusal for `version` (such as "20.20.2"), or undefined when it will do. */
export function runtimeProblem(version: string, minimum = MINIMUM_NODE): string | undefined {
  if (compareVersions(version, minimum) >= 0) return undefined;
  return (
    `Herald needs Node.js ${minimum} or newer; this is Node.js ${version} (${process.execPath}). ` +
    'Run it with `scripts/node.sh npm start`, which brings Node 24, or see README "Prerequisites".'
  );
}

/** -1, 0 or 1, for x.y.z versions (a missing part counts as 0). */
export function compareVersions(a: string, b: string): number {
  const parts = (version: string) => version.replace(/^v/, '').split('.').map(Number);
  const [x, y] = [parts(a), parts(b)];
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const difference = (x[i] || 0) - (y[i] || 0);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

const problem = runtimeProblem(process.versions.node);
if (problem) {
  process.stderr.write(`${problem}\n`);
  process.exit(1);
}
