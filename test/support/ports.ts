import { createServer } from 'node:net';

const handedOut = new Set<number>();

/** Whether nothing listens on `port` (127.0.0.1) now. */
function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the kernel calls free now, never one this process handed out before. */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: chosen } = server.address() as { port: number };
        server.close(() => resolve(chosen));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** A free port whose companion `port + offset` is free too (RabbitMQ's distribution port). */
export async function freePortPair(offset: number): Promise<number> {
  for (;;) {
    const port = await freePort();
    if (port + offset <= 65_535 && (await isFree(port + offset))) {
      handedOut.add(port + offset);
      return port;
    }
  }
}
