/**
 * Load generator, run as a child process of bench/bench.ts (one per 10,000 streams, the file
 * descriptor limit being 20,000 per process here). It opens SSE streams over raw HTTP, one socket
 * each, and reports over IPC: when they are open, and the latency of every event that carries a
 * `sentAt` (ms since the epoch) in its data, by event name.
 *
 * Parent → child: { kind: 'open', base, users: string[], tabs, token?: { secret } | undefined,
 * path }, { kind: 'collect' } (answered with the samples since the last collect),
 * { kind: 'reopen', base } (every stream at once, with its Last-Event-ID, as browsers do after a
 * restart; answered once all are open), { kind: 'stop' }.
 */
import { request } from 'node:http';
import { SignJWT } from 'jose';

interface OpenCommand {
  kind: 'open';
  /** http://127.0.0.1:port */
  base: string;
  /** Stream path; `{user}` is replaced by the user id (for servers without authentication). */
  path: string;
  users: string[];
  /** Streams per user. */
  tabs: number;
  /** HS256 secret: each user gets a token (Herald). */
  secret?: string;
}

type Command =
  OpenCommand | { kind: 'collect' } | { kind: 'reopen'; base: string } | { kind: 'stop' };

/** One stream as a browser keeps it: where it goes, and the last `id:` it received. */
interface Opened {
  path: string;
  headers: Record<string, string>;
  lastEventId?: string;
  close: () => void;
}

const opened: Opened[] = [];
/** Attempts per stream in a reopen before the load gives up. */
const REOPEN_ATTEMPTS = 20;

const samples: Record<string, number[]> = {};
let received = 0;
let cpuMark = process.cpuUsage();

function onFrame(frame: string, stream: Opened): void {
  let name = 'message';
  let data = '';
  for (const line of frame.split('\n')) {
    if (line.startsWith('event: ')) name = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
    else if (line.startsWith('id: ')) stream.lastEventId = line.slice(4);
  }
  if (!data.includes('sentAt')) return;
  const sentAt = /"sentAt":(\d+)/.exec(data)?.[1];
  if (!sentAt) return;
  received += 1;
  (samples[name] ??= []).push(Date.now() - Number(sentAt));
}

function open(base: string, stream: Opened): Promise<void> {
  return new Promise((resolve, reject) => {
    const headers = stream.lastEventId
      ? { ...stream.headers, 'last-event-id': stream.lastEventId }
      : stream.headers;
    const req = request(`${base}${stream.path}`, { headers, agent: false }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`${stream.path}: HTTP ${response.statusCode}`));
        response.resume();
        return;
      }
      response.setEncoding('utf8');
      response.on('error', () => undefined); // the server went away: a reopen follows
      let pending = '';
      let first = true;
      response.on('data', (chunk: string) => {
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          // Open = the first event arrived (the server's first unread-count, sent once the
          // stream is live); the headers alone come earlier.
          if (first && pending.slice(0, end).includes('event: ')) {
            first = false;
            resolve();
          }
          onFrame(pending.slice(0, end), stream);
          pending = pending.slice(end + 2);
        }
      });
    });
    stream.close = () => req.destroy();
    req.on('error', reject);
    req.end();
  });
}

async function openAll(command: OpenCommand): Promise<void> {
  const secret = command.secret ? new TextEncoder().encode(command.secret) : undefined;
  const batch = 250;
  const work: (() => Promise<void>)[] = [];
  for (const user of command.users) {
    let headers: Record<string, string> = { accept: 'text/event-stream' };
    if (secret) {
      const token = await new SignJWT({})
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(user)
        .setExpirationTime('2h')
        .sign(secret);
      headers = { ...headers, authorization: `Bearer ${token}` };
    }
    const path = command.path.replace('{user}', encodeURIComponent(user));
    for (let tab = 0; tab < command.tabs; tab += 1) {
      const stream: Opened = { path, headers, close: () => undefined };
      opened.push(stream);
      work.push(() => open(command.base, stream));
    }
  }
  for (let start = 0; start < work.length; start += batch) {
    await Promise.all(work.slice(start, start + batch).map((task) => task()));
  }
}

process.on('message', (command: Command) => {
  if (command.kind === 'open') {
    openAll(command).then(
      () => process.send!({ kind: 'opened' }),
      (error: unknown) => process.send!({ kind: 'error', message: String(error) }),
    );
  } else if (command.kind === 'reopen') {
    for (const stream of opened) stream.close();
    let retries = 0;
    // As an EventSource does: a failed attempt (a reset while the server's accept queue
    // overflows, a 503 while it starts) is tried again, here after 250 ms.
    const reopen = async (stream: Opened): Promise<void> => {
      for (let attempt = 1; ; attempt += 1) {
        try {
          return await open(command.base, stream);
        } catch (error) {
          if (attempt === REOPEN_ATTEMPTS) throw error;
          retries += 1;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    };
    Promise.all(opened.map(reopen)).then(
      () => process.send!({ kind: 'opened', retries }),
      (error: unknown) => process.send!({ kind: 'error', message: String(error) }),
    );
  } else if (command.kind === 'collect') {
    const cpu = process.cpuUsage(cpuMark);
    process.send!({ kind: 'samples', samples, received, cpuMs: (cpu.user + cpu.system) / 1000 });
    for (const name of Object.keys(samples)) delete samples[name];
    received = 0;
    cpuMark = process.cpuUsage();
  } else {
    process.exit(0);
  }
});
