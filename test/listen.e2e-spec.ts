import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { startHeraldProcess } from '../bench/support/herald-process';
import { loadConfig } from '../src/config/herald-config';
import { deleteTopology, TEST_AMQP_URL } from './support/amqp';
import { createTestStorage, TestStorage, uniqueName } from './support/storage';

/** This machine's first address that is not loopback, if it has one. */
const outside = Object.values(networkInterfaces())
  .flat()
  .find((address) => address && !address.internal && address.family === 'IPv4')?.address;

/** 'open' when something accepts TCP connections at host:port, else the error code. */
function probe(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve('open');
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve('timeout');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/**
 * `node dist/main.js` on the development secret: anyone who reaches the port can mint admin
 * tokens, so Herald listens on loopback only unless HOST says otherwise.
 */
describe('where Herald listens', () => {
  let storage: TestStorage;
  let env: Record<string, string>;

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    env = {
      NODE_ENV: 'development',
      PORT: '0',
      LOG_LEVEL: 'info',
      HOST: '',
      AUTH_JWT_SECRET: '',
      AUTH_JWT_PUBLIC_KEY: '',
      AUTH_JWKS_URL: '',
      AMQP_URL: TEST_AMQP_URL,
      AMQP_PREFIX: `${uniqueName('listen')}.`,
      ...storage.env,
    };
  });

  afterAll(async () => {
    await deleteTopology(loadConfig(env).amqp);
    await storage?.drop();
  });

  const run = async (extra: Record<string, string>) => {
    const herald = startHeraldProcess({ ...env, ...extra });
    try {
      const url = new URL(await herald.ready);
      const port = Number(url.port);
      return {
        url: url.origin,
        loopback: await probe('127.0.0.1', port),
        outside: outside ? await probe(outside, port) : undefined,
        output: herald.output(),
      };
    } finally {
      await herald.stop();
    }
  };

  it('listens on 127.0.0.1 only on the development secret, and says so', async () => {
    const herald = await run({});
    expect(herald.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(herald.loopback).toBe('open');
    if (outside) expect(herald.outside).toBe('ECONNREFUSED');
    expect(herald.output).toContain('Listening on 127.0.0.1 only (loopback)');
  });

  it('listens where HOST says, warning loudly on the development secret', async () => {
    const herald = await run({ HOST: '0.0.0.0' });
    expect(herald.loopback).toBe('open');
    if (outside) expect(herald.outside).toBe('open');
    expect(herald.output).toContain('HOST=0.0.0.0: ANYONE WHO CAN REACH THIS PORT');
  });
});
