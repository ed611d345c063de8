import SwaggerParser from '@apidevtools/swagger-parser';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIV3 } from 'openapi-types';
import { Database } from '../src/database/database';
import { topicSubscriptions } from '../src/database/schema';
import { TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { api, ApiResponse } from './support/http';
import { userToken } from './support/tokens';

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** The OpenAPI document at /docs/openapi.json: valid, complete, and true to what routes answer. */
describe('OpenAPI document', () => {
  let herald: RunningHerald;
  let document: OpenAPIV3.Document;
  /** The document with every $ref resolved, for schema checks. */
  let resolved: OpenAPIV3.Document;
  const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));

  beforeAll(async () => {
    herald = await startHerald({ storage: 'postgres' });
    const answer = await api<OpenAPIV3.Document>(herald, 'GET', '/docs/openapi.json');
    expect(answer.status).toBe(200);
    document = answer.body;
    resolved = (await SwaggerParser.dereference(structuredClone(document))) as OpenAPIV3.Document;
  });

  afterAll(() => herald?.close());

  const operations = () =>
    Object.entries(document.paths).flatMap(([path, item]) =>
      METHODS.filter((method) => item?.[method]).map((method) => ({
        path,
        method,
        operation: item![method]!,
      })),
    );

  /** Checks an answer against the schema the document declares for its status. */
  function expectDeclared(path: string, method: string, answer: ApiResponse): void {
    const operation = (resolved.paths[path] as Record<string, OpenAPIV3.OperationObject>)[method];
    const declared = operation.responses[String(answer.status)] as OpenAPIV3.ResponseObject;
    if (!declared) throw new Error(`${method} ${path}: status ${answer.status} is not declared`);
    const schema = declared.content?.['application/json']?.schema;
    if (!schema) {
      expect(answer.body).toBe(''); // declared without a body (204)
      return;
    }
    const validate = ajv.compile(schema);
    if (!validate(answer.body)) {
      throw new Error(
        `${method} ${path} ${answer.status}: ${ajv.errorsText(validate.errors)}\n` +
          JSON.stringify(answer.body, null, 2),
      );
    }
  }

  it('is a valid OpenAPI document', async () => {
    await expect(SwaggerParser.validate(structuredClone(document))).resolves.toBeDefined();
    expect(document.openapi).toMatch(/^3\./);
    expect(document.components?.securitySchemes?.bearer).toMatchObject({
      type: 'http',
      scheme: 'bearer',
    });
  });

  it('describes every route with a summary, a success answer and its errors', () => {
    const paths = operations().map(({ method, path }) => `${method.toUpperCase()} ${path}`);
    for (const route of [
      'GET /api/v1/notifications',
      'GET /api/v1/notifications/stream',
      'PATCH /api/v1/notifications/{id}',
      'POST /api/v1/stream/tickets',
      'PUT /api/v1/topics/{topic}',
      'POST /api/v1/admin/notifications',
      'GET /api/v1/admin/stats',
      'POST /api/v1/admin/dead-letters/replay',
      'GET /health/live',
    ]) {
      expect(paths).toContain(route);
    }
    for (const { path, method, operation } of operations()) {
      const where = `${method} ${path}`;
      expect([where, operation.summary]).toEqual([where, expect.any(String)]);
      const statuses = Object.keys(operation.responses);
      expect([where, statuses.some((status) => status.startsWith('2'))]).toEqual([where, true]);
      if (path.startsWith('/api/v1/dev')) {
        // Development sign-in: no token by design, and 404 unless on the development secret.
        expect([where, operation.security, Object.keys(operation.responses)]).toEqual([
          where,
          undefined,
          expect.arrayContaining(['404']),
        ]);
      } else if (path.startsWith('/api/v1/')) {
        expect([where, operation.security]).toEqual([where, [{ bearer: [] }]]);
        expect([where, statuses]).toEqual([where, expect.arrayContaining(['401', '429'])]);
      }
    }
  });

  it('answers 403 to a non-admin on every admin route it lists', async () => {
    const token = await userToken('not-an-admin');
    const admin = operations().filter(({ path }) => path.startsWith('/api/v1/admin/'));
    expect(admin.length).toBeGreaterThanOrEqual(12);
    for (const { path, method } of admin) {
      const concrete = path.replace(/\{[^}]+\}/g, 'x');
      const body = method === 'post' || method === 'put' ? {} : undefined;
      const answer = await api(herald, method.toUpperCase(), concrete, { token, body });
      expect([method, path, answer.status]).toEqual([method, path, 403]);
      expectDeclared(path, method, answer);
    }
  });

  it('matches what the main routes really answer', async () => {
    const broker = await TestBroker.connect();
    try {
      const reply = await broker.request(herald, 'notification.openapi', {
        recipients: { userIds: ['ola'] },
        type: 'doc.check',
        title: 'Checked against the document',
        data: { n: 1 },
        expiresAt: '2099-01-01T00:00:00Z',
      });
      expect(reply.ok).toBe(true);
    } finally {
      await broker.close();
    }
    const token = await userToken('ola');
    const admin = await userToken('root', { roles: ['admin'] });
    const id: string = (await api(herald, 'GET', '/api/v1/notifications', { token })).body.items[0]
      .id;
    // A user holding TOPICS_MAX_PER_USER topics already, whose next one is refused (409).
    const full = await userToken('full');
    await herald.app.get(Database).run((db) =>
      db.insert(topicSubscriptions).values(
        Array.from({ length: herald.config.topics.maxPerUser }, (_, i) => ({
          topic: `t${i}`,
          userId: 'full',
        })),
      ),
    );

    const calls: [string, string, string, { token?: string; body?: unknown }][] = [
      ['get', '/api/v1/notifications', '/api/v1/notifications?limit=5', { token }],
      ['get', '/api/v1/notifications', '/api/v1/notifications?limit=0', { token }],
      ['get', '/api/v1/notifications', '/api/v1/notifications', {}],
      [
        'get',
        '/api/v1/notifications/unread-count',
        '/api/v1/notifications/unread-count',
        { token },
      ],
      [
        'patch',
        '/api/v1/notifications/{id}',
        `/api/v1/notifications/${id}`,
        { token, body: { read: true } },
      ],
      [
        'patch',
        '/api/v1/notifications/{id}',
        '/api/v1/notifications/999999',
        { token, body: { read: true } },
      ],
      ['post', '/api/v1/notifications/read-all', '/api/v1/notifications/read-all', { token }],
      ['get', '/api/v1/preferences', '/api/v1/preferences', { token }],
      [
        'put',
        '/api/v1/preferences',
        '/api/v1/preferences',
        { token, body: { mutedTypes: ['promo.*'] } },
      ],
      ['put', '/api/v1/topics/{topic}', '/api/v1/topics/news', { token }],
      ['get', '/api/v1/topics', '/api/v1/topics', { token }],
      ['get', '/api/v1/topics', '/api/v1/topics?limit=1&cursor=a', { token }],
      ['get', '/api/v1/topics', '/api/v1/topics?cursor=a%20b', { token }],
      ['put', '/api/v1/topics/{topic}', '/api/v1/topics/news', { token: full }],
      [
        'put',
        '/api/v1/admin/topics/{topic}/subscribers/{userId}',
        '/api/v1/admin/topics/news/subscribers/full',
        { token: admin },
      ],
      ['post', '/api/v1/stream/tickets', '/api/v1/stream/tickets', { token }],
      ['get', '/health/live', '/health/live', {}],
      [
        'get',
        '/api/v1/admin/notifications',
        '/api/v1/admin/notifications?userId=ola',
        { token: admin },
      ],
      ['get', '/api/v1/admin/stats', '/api/v1/admin/stats', { token: admin }],
      [
        'get',
        '/api/v1/admin/topics/{topic}/subscribers',
        '/api/v1/admin/topics/news/subscribers',
        { token: admin },
      ],
      ['get', '/api/v1/admin/scheduled', '/api/v1/admin/scheduled', { token: admin }],
      ['get', '/api/v1/admin/dead-letters', '/api/v1/admin/dead-letters', { token: admin }],
      [
        'post',
        '/api/v1/admin/events',
        '/api/v1/admin/events',
        { token: admin, body: { recipients: { userIds: ['ola'] }, type: 'ping' } },
      ],
      [
        'post',
        '/api/v1/admin/notifications',
        '/api/v1/admin/notifications',
        { token: admin, body: { recipients: { userIds: ['ola'] }, title: 'Hi' } },
      ],
      [
        'post',
        '/api/v1/admin/notifications',
        '/api/v1/admin/notifications',
        { token: admin, body: { title: 'no recipients' } },
      ],
      ['delete', '/api/v1/notifications/{id}', `/api/v1/notifications/${id}`, { token }],
    ];
    const seen = new Set<string>();
    for (const [method, path, url, request] of calls) {
      const answer = await api(herald, method.toUpperCase(), url, request);
      expectDeclared(path, method, answer);
      seen.add(`${method} ${answer.status}`);
    }
    // The calls cover successes and the common errors.
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'get 200',
        'get 400',
        'get 401',
        'patch 404',
        'put 409',
        'post 202',
        'post 400',
        'delete 204',
      ]),
    );
  });

  it('serves Swagger UI at /docs', async () => {
    const page = await fetch(`${herald.url}/docs`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('swagger-ui');
  });

  it('is listed, route by route, in docs/INTERFACE.md, which lists no route Herald lacks', () => {
    const reference = readFileSync(join(__dirname, '..', 'docs', 'INTERFACE.md'), 'utf8');
    // Table rows open with the route: | `GET /api/v1/notifications/:id` |
    const listed = [...reference.matchAll(/^\| `(GET|PUT|POST|PATCH|DELETE) (\/[^` ]*)`/gm)].map(
      ([, method, path]) => `${method} ${path}`,
    );
    const served = operations().map(
      ({ method, path }) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`,
    );
    expect(served.filter((route) => !listed.includes(route))).toEqual([]);
    // Outside the OpenAPI document: the document itself, Swagger UI and the demo page.
    const undocumented = ['GET /docs', 'GET /docs/openapi.json', 'GET /'];
    expect(
      listed.filter((route) => !served.includes(route) && !undocumented.includes(route)),
    ).toEqual([]);
  });
});
