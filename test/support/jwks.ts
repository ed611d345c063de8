import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, JWK, KeyLike, SignJWT } from 'jose';

/**
 * What the endpoint does: serve the set, answer 503, answer 200 with something that is no key
 * set, or never answer (a timeout).
 */
export type JwksMode = 'up' | 'down' | 'garbage' | 'hang';

export interface JwksServer {
  /** http://127.0.0.1:<port>/.well-known/jwks.json */
  url: string;
  mode: JwksMode;
  /** The public keys served while `mode` is 'up'. */
  keys: JWK[];
  /** Requests answered or held so far. */
  requests: number;
  close(): Promise<void>;
}

/** An identity provider's JWKS endpoint on a free port of 127.0.0.1. */
export async function startJwksServer(keys: JWK[] = []): Promise<JwksServer> {
  const server = createServer((_, response) => {
    jwks.requests += 1;
    if (jwks.mode === 'hang') return;
    if (jwks.mode === 'down') {
      response.writeHead(503).end('upstream unavailable');
      return;
    }
    const json = jwks.mode === 'up' ? JSON.stringify({ keys: jwks.keys }) : '<html>oops</html>';
    response.writeHead(200, { 'content-type': 'application/json' }).end(json);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const jwks: JwksServer = {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    mode: 'up',
    keys,
    requests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections(); // held ('hang') requests too
        server.close(() => resolve());
      }),
  };
  return jwks;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  /** The public half as the key set publishes it. */
  publicJwk: JWK;
}

export async function signingKey(kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
  return { kid, privateKey, publicJwk };
}

/** An ES256 user token signed with `key`, naming `kid` (by default the key's own). */
export function jwksToken(key: SigningKey, kid = key.kid, userId = 'alice'): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: 'ES256', kid })
    .setSubject(userId)
    .setExpirationTime(now + 600)
    .sign(key.privateKey);
}
