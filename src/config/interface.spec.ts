import { getMetadataStorage } from 'class-validator';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Environment } from './environment';

/** docs/INTERFACE.md, the reference users get with the repository. */
const reference = readFileSync(join(__dirname, '..', '..', 'docs', 'INTERFACE.md'), 'utf8');

/** The rows of the table under `## Configuration`: the variables the page promises. */
function documentedVariables(): string[] {
  const section = reference.split(/^## /m).find((part) => part.startsWith('Configuration'));
  if (!section) throw new Error('docs/INTERFACE.md has no "## Configuration" section');
  return [...section.matchAll(/^\| `([A-Z][A-Z0-9_]*)`/gm)].map((match) => match[1]);
}

/** Every variable Herald reads: the validated properties of Environment, nothing else. */
function readVariables(): string[] {
  const metadata = getMetadataStorage().getTargetValidationMetadatas(Environment, '', true, false);
  return [...new Set(metadata.map((entry) => entry.propertyName))].sort();
}

describe('docs/INTERFACE.md', () => {
  it('lists every variable Herald reads, in its configuration table', () => {
    const read = readVariables();
    expect(read.length).toBeGreaterThan(20);
    expect(read.filter((name) => !documentedVariables().includes(name))).toEqual([]);
  });

  it('lists no variable Herald does not read', () => {
    const read = readVariables();
    expect(documentedVariables().filter((name) => !read.includes(name))).toEqual([]);
  });

  it('lists every stream event the server sends', () => {
    const source = readFileSync(join(__dirname, '..', 'realtime', 'sse-events.ts'), 'utf8');
    const map = /export interface SseEventMap \{([\s\S]*?)\n\}/.exec(source)?.[1] ?? '';
    const events = [...map.matchAll(/^ {2}'?([a-z][a-z.-]*)'?:/gm)].map((match) => match[1]);
    expect(events).toContain('notification');
    expect(events.filter((name) => !reference.includes(`| \`${name}\``))).toEqual([]);
  });
});
