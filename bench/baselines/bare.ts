/**
 * Baseline 2: the practical limit of this machine. A bare `node:http` SSE server: streams in an
 * in-memory map by user, fed by an amqplib consumer of the same messages Herald gets, writing the
 * same frames. No authentication, no storage, no replay: what is left is parsing and writing.
 *
 *   tsx bench/baselines/bare.ts   (env: PORT, AMQP_URL, AMQP_PREFIX; prints "Listening on …")
 */
import { createServer, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { consumeBenchMessages } from './feed';

const streams = new Map<string, Set<ServerResponse>>();
let nextId = 0;

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const user = url.searchParams.get('user');
  if (url.pathname !== '/stream' || !user) {
    response.writeHead(404).end();
    return;
  }
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
  response.write('event: unread-count\ndata: {"count":0}\n\n');
  const mine = streams.get(user) ?? new Set();
  streams.set(user, mine.add(response));
  request.on('close', () => {
    mine.delete(response);
    if (mine.size === 0) streams.delete(user);
  });
});

void consumeBenchMessages(process.env, (message) => {
  nextId += 1;
  const targets = message.broadcast
    ? [...streams.values()]
    : message.userIds.map((user) => streams.get(user)).filter((set) => set !== undefined);
  const frame = `event: ${message.event}\nid: ${nextId}\ndata: ${JSON.stringify(message.body)}\n\n`;
  for (const set of targets) for (const response of set) response.write(frame);
});

// The accept queue Herald has (main.ts), so the storm compares the servers, not the queues.
server.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1', backlog: 65535 }, () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`Listening on http://127.0.0.1:${port}\nConsuming bench messages\n`);
});
