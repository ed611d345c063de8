import { isDeepStrictEqual } from 'node:util';
import { Client } from 'pg';
import { amqpTopology } from '../../src/messaging/amqp-topology';
import { TestBroker } from '../support/amqp';
import { eventually } from '../support/eventually';
import type { RunningHerald } from '../support/herald';
import { api } from '../support/http';
import { TestStreams } from '../support/sse';
import { unsignedToken, userToken } from '../support/tokens';
import {
  BAD_MESSAGES,
  Case,
  forgedLines,
  generate,
  Outcome,
  REPEATED_MESSAGES,
  SEED,
  seeded,
  SSE_EVENTS,
  VALID_MESSAGES,
  WATCHED,
} from './bad-messages';
import { LoadRig, openLoadRig } from './faults';
import { recordFigures } from './figures';
import {
  badBodies,
  CORE_PATH_VALUES,
  CORE_QUERY_VALUES,
  fillPath,
  FuzzRequest,
  openApiOperations,
  PATH_VALUES,
  pickSome,
  problemWith,
  QUERY_VALUES,
  send,
} from './http-fuzz';

/*
 * Malformed input (issue 10): 10,000 generated bad messages through RabbitMQ and a few hundred
 * bad HTTP requests against every operation of the OpenAPI document. Every bad message must be
 * dead-lettered with its reason, every valid one stored once and streamed to its user only, and
 * Herald must answer every bad request with a JSON 4xx, never a 5xx.
 */

interface Reply {
  ok: boolean;
  ids?: string[];
  error?: string;
}

interface DeadLetterSeen {
  code: string;
  reason: string;
}

interface Row {
  id: string;
  tenant_id: string;
  user_id: string;
  idempotency_key: string;
  type: string;
  title: string;
  body: string | null;
  data: unknown;
  priority: string;
}

/** What happened to a message, from Herald's reply and the dead-letter queue. */
function actualOf(reply: Reply | undefined, dead: DeadLetterSeen[] | undefined): string {
  if (!reply) return 'no reply';
  if (!reply.ok) return dead?.length ? `dead ${dead[0].code}` : 'dead (no dead letter)';
  if (reply.ids === undefined) return 'live';
  return reply.ids.length > 0 ? 'stored' : 'acknowledged, nothing stored';
}

function expectedOf(outcome: Outcome): string {
  if ('dead' in outcome) return `dead ${outcome.dead}`;
  return 'stored' in outcome ? 'stored' : 'live';
}

/** A short, printable sample of a message for the report. */
function sample(each: Case): string {
  return JSON.stringify(each.content.subarray(0, 160).toString('utf8'));
}

async function publishAll(
  broker: TestBroker,
  herald: RunningHerald,
  cases: Case[],
  replyTo: string,
): Promise<void> {
  const { exchange } = amqpTopology(herald.config.amqp);
  const { channel } = broker;
  for (const [index, each] of cases.entries()) {
    const sent = channel.publish(exchange, each.routingKey, each.content, {
      persistent: true,
      ...each.properties,
      replyTo,
    });
    if (!sent) await new Promise((resolve) => channel.once('drain', resolve));
    if (index % 500 === 499) await channel.waitForConfirms();
  }
  await channel.waitForConfirms();
}

describe('malformed input', () => {
  let herald: RunningHerald;
  let broker: TestBroker;
  let database: Client;
  let rig: LoadRig;
  const streams = new TestStreams();

  beforeAll(async () => {
    rig = await openLoadRig();
    ({ herald, broker, database } = rig);
    // 10,000 dead letters are 10,000 warnings: keep errors (unexpected ones are logged as such).
    herald.app.useLogger(['fatal', 'error']);
  });

  afterAll(async () => {
    streams.closeAll();
    await rig?.close();
  });

  it('dead-letters every bad message with its reason, stores every valid one once, streams them intact', async () => {
    const started = Date.now();
    const cases = generate(herald.config.amqp.maxMessageBytes);
    const bad = cases.filter((each) => 'dead' in each.outcome);
    expect(bad).toHaveLength(BAD_MESSAGES);

    const watched = await streams.live(herald, { token: await userToken(WATCHED) });
    let raw = '';
    watched.response.on('data', (chunk: string) => (raw += chunk));

    const replies = new Map<number, Reply>();
    const replyChannel = await broker.connection.createChannel();
    const { queue: replyQueue } = await replyChannel.assertQueue('', {
      exclusive: true,
      autoDelete: true,
    });
    await replyChannel.consume(
      replyQueue,
      (message) => {
        if (message) {
          replies.set(
            Number(message.properties.correlationId),
            JSON.parse(message.content.toString()),
          );
        }
      },
      { noAck: true },
    );

    const dead = new Map<number, DeadLetterSeen[]>();
    let strays = 0;
    const deadChannel = await broker.connection.createChannel();
    await deadChannel.prefetch(1000);
    await deadChannel.consume(amqpTopology(herald.config.amqp).deadLetterQueue, (message) => {
      if (!message) return;
      deadChannel.ack(message);
      const headers = message.properties.headers ?? {};
      const seq = headers['x-fuzz'];
      if (typeof seq !== 'number') {
        strays += 1;
        return;
      }
      const seen = dead.get(seq) ?? [];
      seen.push({
        code: String(headers['x-herald-error-code']),
        reason: String(headers['x-herald-error'] ?? ''),
      });
      dead.set(seq, seen);
    });

    await publishAll(broker, herald, cases, replyQueue);
    const published = Date.now();
    // Every message is answered once it is settled: stored, pushed, or dead-lettered.
    await eventually(
      () => {
        const missing = cases.filter((each) => !replies.has(each.seq));
        if (missing.length > 0) {
          throw new Error(
            `${missing.length} messages unsettled, e.g. ${missing
              .slice(0, 5)
              .map((each) => `${each.mutator} ${sample(each)}`)
              .join(', ')}`,
          );
        }
      },
      { timeoutMs: 90_000, intervalMs: 100 },
    );
    const settled = Date.now();
    const refused = cases.filter((each) => replies.get(each.seq)?.ok === false);
    await eventually(
      () => expect(refused.filter((each) => dead.has(each.seq))).toHaveLength(refused.length),
      {
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
    await replyChannel.close();
    await deadChannel.close();

    // Outcomes against expectations, grouped so that a bug reads as one line with an example.
    const mismatches = new Map<string, { count: number; example: string }>();
    const byMutator: Record<string, Record<string, number>> = {};
    for (const each of cases) {
      const actual = actualOf(replies.get(each.seq), dead.get(each.seq));
      const expected = expectedOf(each.outcome);
      byMutator[each.mutator] ??= {};
      byMutator[each.mutator][actual] = (byMutator[each.mutator][actual] ?? 0) + 1;
      if (actual !== expected) {
        const key = `${each.mutator}: expected ${expected}, got ${actual}`;
        const entry = mismatches.get(key) ?? {
          count: 0,
          example:
            `${each.routingKey} ${sample(each)} ${dead.get(each.seq)?.[0]?.reason ?? replies.get(each.seq)?.error ?? ''}`.slice(
              0,
              400,
            ),
        };
        entry.count += 1;
        mismatches.set(key, entry);
      }
    }

    const deadLetters = [...dead.values()];
    const byReason: Record<string, number> = {};
    for (const [{ code }] of deadLetters) byReason[code] = (byReason[code] ?? 0) + 1;
    const duplicateDeadLetters = deadLetters.filter((seen) => seen.length > 1).length;
    const withoutReason = deadLetters.filter(
      ([{ code, reason }]) => !reason.startsWith(`${code}: `),
    ).length;
    const badDeadLettered = bad.filter((each) => dead.has(each.seq)).length;

    // Storage: every accepted notification once, as sent; nothing else.
    const schema = herald.config.database.schema;
    const { rows } = await database.query<Row>(
      `SELECT id::text, tenant_id, user_id, idempotency_key, type, title, body, data, priority FROM "${schema}".notifications`,
    );
    const byId = new Map(rows.map((row) => [row.id, row]));
    const expectedIds = new Set<string>();
    const altered: string[] = [];
    for (const each of cases) {
      const reply = replies.get(each.seq);
      if (!('stored' in each.outcome) || !reply?.ok || !reply.ids) continue;
      const stored = each.outcome.stored;
      for (const id of reply.ids) {
        expectedIds.add(id);
        const row = byId.get(id);
        const as = row && {
          userId: row.user_id,
          tenantId: row.tenant_id || null,
          type: row.type,
          title: row.title,
          body: row.body,
          data: row.data,
          priority: row.priority,
        };
        const want = {
          userId: as?.userId,
          tenantId: stored.tenantId,
          type: stored.type,
          title: stored.title,
          body: stored.body,
          data: stored.data,
          priority: stored.priority,
        };
        if (!row || !stored.userIds.includes(row.user_id) || !isDeepStrictEqual(as, want)) {
          altered.push(
            `${each.mutator} #${each.seq}: sent ${JSON.stringify(want).slice(0, 200)}, stored ${JSON.stringify(as).slice(0, 200)}`,
          );
        }
        if (stored.key !== undefined && row && row.idempotency_key !== stored.key) {
          altered.push(
            `${each.mutator} #${each.seq}: key ${JSON.stringify(stored.key)} stored as ${JSON.stringify(row.idempotency_key)}`,
          );
        }
      }
    }
    const unexpectedRows = rows.filter((row) => !expectedIds.has(row.id));
    const validKeys = new Map<string, number>();
    for (const row of rows) {
      if (row.idempotency_key.startsWith('valid-')) {
        validKeys.set(row.idempotency_key, (validKeys.get(row.idempotency_key) ?? 0) + 1);
      }
    }
    const duplicated = [...validKeys.values()].filter((count) => count > 1).length;
    const lost = VALID_MESSAGES - validKeys.size;

    // The watched stream: exactly its own notifications, intact, and nothing but contract events.
    const mine = rows.filter((row) => row.user_id === WATCHED && row.tenant_id === '');
    const liveForWatched = cases.filter(
      (each) =>
        'live' in each.outcome &&
        each.outcome.live.userIds.includes(WATCHED) &&
        each.outcome.live.tenantId === null &&
        replies.get(each.seq)?.ok === true,
    ).length;
    await eventually(
      () => {
        expect(
          watched.events.filter((event) => event.event === 'notification').length,
        ).toBeGreaterThanOrEqual(mine.length);
        expect(
          watched.events.filter((event) => event.event === 'live').length,
        ).toBeGreaterThanOrEqual(liveForWatched);
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    const frames = watched.events.filter((event) => event.event === 'notification');
    const frameMismatches = frames.filter((frame) => {
      const row = byId.get(frame.id!);
      return (
        !row ||
        row.user_id !== WATCHED ||
        row.tenant_id !== '' ||
        frame.data.id !== row.id ||
        frame.data.userId !== WATCHED ||
        frame.data.tenantId !== null ||
        frame.data.title !== row.title ||
        frame.data.body !== row.body ||
        !isDeepStrictEqual(frame.data.data, row.data)
      );
    });
    const foreignEvents = watched.events.filter(
      (event) => event.event !== undefined && !SSE_EVENTS.includes(event.event),
    );
    const unnamed = watched.events.filter(
      (event) => event.event === undefined && event.data !== undefined,
    );
    const badLines = forgedLines(raw);

    const ready = await api(herald, 'GET', '/health/ready');
    const figures = {
      messages: cases.length,
      bad: bad.length,
      oddButValid: cases.filter(
        (each) => !('dead' in each.outcome) && !each.mutator.startsWith('valid'),
      ).length,
      valid: VALID_MESSAGES,
      repeated: REPEATED_MESSAGES,
      deadLettered: badDeadLettered,
      deadLettersTotal: deadLetters.length,
      byReason,
      byMutator,
      mismatches: Object.fromEntries(mismatches),
      altered: altered.length,
      alteredExamples: altered.slice(0, 5),
      storedRows: rows.length,
      unexpectedRows: unexpectedRows.length,
      lost,
      duplicated,
      duplicateDeadLetters,
      strayDeadLetters: strays,
      watchedFrames: watched.events.length,
      watchedNotifications: frames.length,
      forgedLines: badLines.length + foreignEvents.length + unnamed.length,
      carriageReturns: raw.includes('\r') ? 1 : 0,
      readyStatus: ready.status,
      publishMs: published - started,
      settleMs: settled - published,
      totalMs: Date.now() - started,
    };
    recordFigures('malformed input (RabbitMQ)', figures);

    // One verdict, so that a failure shows every broken rule at once.
    const describeFrame = (frame: { id?: string; data?: any }) =>
      `${frame.id}: ${JSON.stringify(frame.data).slice(0, 200)}`;
    expect({
      mismatches: Object.fromEntries(mismatches),
      badDeadLettered,
      deadLettersWithoutRefusal: deadLetters.length - refused.length,
      withoutReason,
      duplicateDeadLetters,
      strays,
      altered,
      unexpectedRows: unexpectedRows.map((row) => `${row.id} for ${row.user_id}: ${row.title}`),
      lost,
      duplicated,
      watchedMissing: mine.filter((row) => !frames.some((f) => f.id === row.id)).length,
      watchedExtra: frames.filter((frame) => !mine.some((row) => row.id === frame.id)).length,
      watchedDuplicates: frames.length - new Set(frames.map((frame) => frame.id)).size,
      frameMismatches: frameMismatches.map(describeFrame),
      foreignEvents: foreignEvents.map(describeFrame),
      unnamed: unnamed.map(describeFrame),
      badLines: badLines.slice(0, 10),
      carriageReturns: raw.includes('\r'),
      liveFrames: watched.events.filter((event) => event.event === 'live').length,
      ready: ready.status,
      polluted: ({} as Record<string, unknown>).polluted,
    }).toEqual({
      mismatches: {},
      badDeadLettered: BAD_MESSAGES,
      deadLettersWithoutRefusal: 0,
      withoutReason: 0,
      duplicateDeadLetters: 0,
      strays: 0,
      altered: [],
      unexpectedRows: [],
      lost: 0,
      duplicated: 0,
      watchedMissing: 0,
      watchedExtra: 0,
      watchedDuplicates: 0,
      frameMismatches: [],
      foreignEvents: [],
      unnamed: [],
      badLines: [],
      carriageReturns: false,
      liveFrames: liveForWatched,
      ready: 200,
      polluted: undefined,
    });
  });

  it('answers every bad HTTP request to every documented operation with a JSON 4xx, never a 5xx', async () => {
    const started = Date.now();
    const doc = (await api(herald, 'GET', '/docs/openapi.json')).body;
    const operations = openApiOperations(doc);
    expect(operations.length).toBeGreaterThan(15);
    const tokens = {
      user: await userToken('fuzz-user'),
      admin: await userToken('fuzz-admin', { roles: ['admin'] }),
      tenantAdmin: await userToken('fuzz-admin', { roles: ['admin'], tenant: 't1' }),
    };
    const badAuth = [
      undefined,
      'Bearer garbage',
      `Bearer ${await userToken('fuzz-user', { secret: 'another-secret-another-secret-another' })}`,
      `Bearer ${unsignedToken('fuzz-admin')}`,
      `Bearer ${await userToken('fuzz-user', { expiresIn: -120 })}`,
      'Basic dXNlcjpwYXNz',
      `Bearer ${'a'.repeat(8000)}`,
      `Bearer ${tokens.user} extra`,
    ];
    const rng = seeded(SEED + 1);
    const requests: FuzzRequest[] = [];
    for (const operation of operations) {
      const token = operation.path.includes('/admin/') ? tokens.admin : tokens.user;
      const bearer = `Bearer ${token}`;
      const path = fillPath(operation.path, {});
      for (const authorization of badAuth) {
        requests.push({
          ...operation,
          path,
          headers: authorization ? { authorization } : {},
          label: 'bad token',
        });
      }
      if (operation.path.includes('/admin/')) {
        requests.push({
          ...operation,
          path,
          headers: { authorization: `Bearer ${tokens.user}` },
          label: 'user token on an admin route',
        });
        requests.push({
          ...operation,
          path,
          headers: { authorization: `Bearer ${tokens.tenantAdmin}` },
          label: 'tenant admin',
        });
      }
      for (const name of operation.pathParams) {
        for (const value of [...CORE_PATH_VALUES, ...pickSome(rng, PATH_VALUES, 5)]) {
          requests.push({
            ...operation,
            path: fillPath(operation.path, { [name]: value }),
            headers: { authorization: bearer },
            label: `path ${name}`,
          });
        }
      }
      for (const name of operation.queryParams) {
        for (const value of [...CORE_QUERY_VALUES, ...pickSome(rng, QUERY_VALUES, 2)]) {
          requests.push({
            ...operation,
            path: `${path}?${name}=${value}`,
            headers: { authorization: bearer },
            label: `query ${name}`,
          });
        }
      }
      requests.push({
        ...operation,
        path: `${path}?unknown=1&__proto__[x]=1`,
        headers: { authorization: bearer },
        label: 'unknown query',
      });
      if (['POST', 'PUT', 'PATCH'].includes(operation.method)) {
        const { core, more } = badBodies(operation.bodyExample, herald.config.http.maxBodyBytes);
        for (const body of [...core, ...pickSome(rng, more, 7)]) {
          requests.push({
            ...operation,
            path,
            headers: { authorization: bearer, ...body.headers },
            body: body.body,
            label: `body ${body.label}`,
          });
        }
      }
    }

    const byStatus: Record<string, number> = {};
    const problems: string[] = [];
    for (const fuzz of requests) {
      const answer = await send(herald, fuzz);
      const status = 'error' in answer ? answer.error : String(answer.status);
      byStatus[status] = (byStatus[status] ?? 0) + 1;
      const problem = problemWith(answer);
      if (problem)
        problems.push(`${fuzz.method} ${fuzz.path.slice(0, 120)} (${fuzz.label}): ${problem}`);
    }
    const ready = await api(herald, 'GET', '/health/ready');
    recordFigures('malformed input (HTTP)', {
      operations: operations.length,
      requests: requests.length,
      byStatus,
      '5xx': Object.entries(byStatus)
        .filter(([status]) => status.startsWith('5'))
        .reduce((sum, [, count]) => sum + count, 0),
      notJsonErrors: problems.length,
      problems: problems.slice(0, 10),
      readyStatus: ready.status,
      ms: Date.now() - started,
    });
    expect(problems).toEqual([]);
    expect(ready.status).toBe(200);
  });
});
