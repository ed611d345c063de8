import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compareVersions, MINIMUM_NODE, runtimeProblem } from './runtime';

const root = join(__dirname, '..');

describe('the supported Node.js', () => {
  it('refuses an older Node in one line naming both versions', () => {
    const problem = runtimeProblem('20.20.2');
    expect(problem).toContain('Herald needs Node.js 24.9.0 or newer; this is Node.js 20.20.2');
    expect(problem).not.toContain('\n');
    expect(runtimeProblem('24.8.1')).toBeDefined();
  });

  it('takes the minimum and anything newer', () => {
    expect(runtimeProblem('24.9.0')).toBeUndefined();
    expect(runtimeProblem('24.22.3')).toBeUndefined();
    expect(runtimeProblem('26.12.1')).toBeUndefined();
    expect(runtimeProblem(process.versions.node)).toBeUndefined(); // the tests' own Node
  });

  it('compares versions by number, not as text', () => {
    expect(compareVersions('24.10.0', '24.9.0')).toBe(1);
    expect(compareVersions('v24.9', '24.9.0')).toBe(0);
    expect(compareVersions('9.99.0', '24.9.0')).toBe(-1);
  });

  it('is the minimum that package.json and .node-version state', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
    expect(pkg.engines.node).toBe(`>=${MINIMUM_NODE.replace(/\.0$/, '')}`);
    const pinned = readFileSync(join(root, '.node-version'), 'utf8').trim();
    expect(compareVersions(pinned, MINIMUM_NODE)).toBeGreaterThanOrEqual(0);
    expect(readFileSync(join(root, '.nvmrc'), 'utf8').trim()).toBe(pinned);
  });
});
