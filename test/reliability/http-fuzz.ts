/** Requests generated from the OpenAPI document for malformed.reliability-spec.ts. */
import { request as httpRequest } from 'node:http';
import type { RunningHerald } from '../support/herald';
import { deep, FORGERIES, ODD_TEXT, Rng } from './bad-messages';

interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
  bodyExample: Record<string, unknown>;
}

export interface FuzzRequest extends Operation {
  headers: Record<string, string>;
  body?: string | Buffer;
  label: string;
}

type FuzzAnswer = { status: number; contentType: string; text: string } | { error: string };

/** Every operation of the OpenAPI document, with its parameters and an example body. */
export function openApiOperations(doc: any): Operation[] {
  const resolve = (schema: any) =>
    schema?.$ref ? doc.components.schemas[String(schema.$ref).split('/').pop()!] : schema;
  return Object.entries<any>(doc.paths).flatMap(([path, item]) =>
    Object.entries<any>(item)
      .filter(([method]) => ['get', 'put', 'post', 'patch', 'delete'].includes(method))
      .map(([method, operation]) => {
        const parameters: any[] = operation.parameters ?? [];
        const schema = resolve(operation.requestBody?.content?.['application/json']?.schema);
        const bodyExample = Object.fromEntries(
          Object.entries<any>(schema?.properties ?? {})
            .filter(([, property]) => property.example !== undefined)
            .map(([name, property]) => [name, property.example]),
        );
        return {
          method: method.toUpperCase(),
          path,
          pathParams: parameters.filter((p) => p.in === 'path').map((p) => String(p.name)),
          queryParams: parameters.filter((p) => p.in === 'query').map((p) => String(p.name)),
          bodyExample,
        };
      }),
  );
}

export function fillPath(template: string, values: Record<string, string>): string {
  return template.replace(
    /\{(\w+)\}/g,
    (_, name: string) => values[name] ?? (name === 'id' ? '1' : 'u1'),
  );
}

export function pickSome<T>(rng: Rng, items: readonly T[], count: number): T[] {
  const left = [...items];
  const picked: T[] = [];
  while (picked.length < count && left.length > 0)
    picked.push(left.splice(rng.int(left.length), 1)[0]);
  return picked;
}

/** Sent to every parameter: NUL, a lone surrogate and CR/LF, encoded. */
export const CORE_PATH_VALUES = ['%00', '%ED%A0%80', '%0D%0Aevent:%20x'];
export const CORE_QUERY_VALUES = ['%00', '%ED%A0%80'];

/** Path parameter values, sent as they are (node:http does not normalise the path). */
export const PATH_VALUES = [
  '..',
  '..%2F..%2Fadmin%2Fstats',
  '%2e%2e%2f%2e%2e%2fhealth',
  'a%00b',
  '%ZZ',
  '%C0%AF',
  '%F0%9F%94%94',
  '%E2%80%AE',
  'x'.repeat(5000),
  '9'.repeat(40),
  '9223372036854775808',
  '-1',
  '0',
  '1.5',
  '1e3',
  'null',
  '%20',
];

export const QUERY_VALUES = [
  'abc',
  '-1',
  '0',
  '1e309',
  'x'.repeat(5000),
  '',
  '1&limit=2&limit=3',
  '%ZZ',
  '%F0%9F%94%94',
  '%0D%0A',
  '99999999999999999999999',
  '[]',
  '{"a":1}',
];

interface BadBody {
  label: string;
  body: string | Buffer;
  headers: Record<string, string>;
}

/** `core`: sent to every operation with a body; `more`: a few of them each. */
export function badBodies(
  example: Record<string, unknown>,
  maxBodyBytes: number,
): { core: BadBody[]; more: BadBody[] } {
  const json = { 'content-type': 'application/json' };
  const fields = Object.keys(example).length > 0 ? Object.keys(example) : ['field'];
  const core: BadBody[] = [
    { label: 'deep', body: deep(10_000, '{"a":', '1', '}'), headers: json },
    { label: 'deep field', body: `{"${fields[0]}":${deep(10_000, '[', '', ']')}}`, headers: json },
  ];
  const bodies: BadBody[] = [
    { label: 'broken JSON', body: '{"a":', headers: json },
    { label: 'empty', body: '', headers: json },
    { label: 'null', body: 'null', headers: json },
    { label: 'array', body: '[]', headers: json },
    { label: 'string', body: '"text"', headers: json },
    { label: 'number', body: '123', headers: json },
    {
      label: 'prototype',
      body: '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}',
      headers: json,
    },
    { label: 'oversized', body: `{"x":"${'x'.repeat(maxBodyBytes + 1)}"}`, headers: json },
    {
      label: 'huge string',
      body: JSON.stringify({ ...example, [fields[0]]: 'x'.repeat(200_000) }),
      headers: json,
    },
    {
      label: 'not UTF-8',
      body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
      headers: json,
    },
    { label: 'text/plain', body: 'hello', headers: { 'content-type': 'text/plain' } },
    { label: 'xml', body: '<a>1</a>', headers: { 'content-type': 'application/xml' } },
    {
      label: 'form',
      body: 'a=1&b[c]=2&__proto__[x]=1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    },
    {
      label: 'multipart',
      body: '--x\r\ngarbage',
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
    },
    {
      label: 'utf-16 charset',
      body: '{}',
      headers: { 'content-type': 'application/json; charset=utf-16' },
    },
    { label: 'no content type', body: JSON.stringify(example), headers: {} },
  ];
  for (const field of fields) {
    for (const value of [123, 'x', [], {}, null, true, -1, ODD_TEXT[1], FORGERIES[0]]) {
      bodies.push({
        label: `${field} = ${JSON.stringify(value).slice(0, 20)}`,
        body: JSON.stringify({ ...example, [field]: value }),
        headers: json,
      });
    }
    for (const value of ['a\u0000b', 'a\ud800b']) {
      core.push({
        label: `${field} = ${JSON.stringify(value)}`,
        body: JSON.stringify({ ...example, [field]: value }),
        headers: json,
      });
    }
  }
  return { core, more: bodies };
}

/** One raw request; an event stream is closed as soon as its headers arrive. */
export function send(herald: RunningHerald, fuzz: FuzzRequest): Promise<FuzzAnswer> {
  const { hostname, port } = new URL(herald.url);
  return new Promise((resolve) => {
    let req: ReturnType<typeof httpRequest>;
    try {
      req = httpRequest(
        { host: hostname, port, method: fuzz.method, path: fuzz.path, headers: fuzz.headers },
        (response) => {
          const contentType = String(response.headers['content-type'] ?? '');
          if (contentType.startsWith('text/event-stream')) {
            resolve({ status: response.statusCode!, contentType, text: '' });
            req.destroy();
            return;
          }
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode!, contentType, text }));
          response.on('error', (error) => resolve({ error: `response ${error.message}` }));
        },
      );
    } catch (error) {
      resolve({ error: `not sendable: ${(error as Error).message}` });
      return;
    }
    req.setTimeout(15_000, () => req.destroy(new Error('no answer within 15 s')));
    req.on('error', (error) => resolve({ error: error.message }));
    req.end(fuzz.body);
  });
}

/** Why an answer breaks the rules: a 5xx, or a 4xx that is not `{ statusCode, error, message }`. */
export function problemWith(answer: FuzzAnswer): string | undefined {
  if ('error' in answer) return answer.error;
  if (answer.status >= 500) return `${answer.status} ${answer.text.slice(0, 200)}`;
  if (answer.status < 400) return undefined;
  if (!answer.contentType.includes('application/json')) {
    return `${answer.status} as ${answer.contentType}: ${answer.text.slice(0, 100)}`;
  }
  try {
    const body = JSON.parse(answer.text);
    const keys = Object.keys(body).sort().join(',');
    if (
      keys !== 'error,message,statusCode' ||
      body.statusCode !== answer.status ||
      typeof body.error !== 'string' ||
      typeof body.message !== 'string'
    ) {
      return `${answer.status} ${answer.text.slice(0, 200)}`;
    }
  } catch {
    return `${answer.status} not JSON: ${answer.text.slice(0, 100)}`;
  }
  return undefined;
}
