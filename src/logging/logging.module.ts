import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { destination } from 'pino';
import { HeraldConfig } from '../config/herald-config';

const REQUEST_ID = /^[\w.:-]{1,100}$/;

/**
 * `?ticket=…` in a logged URL becomes `?ticket=[redacted]`: a ticket opens a stream. Keys are
 * compared decoded, as the query parser reads them (`%74icket` is `ticket` too).
 */
export function withoutTicket(url: string | undefined): string | undefined {
  const query = url?.indexOf('?') ?? -1;
  if (url === undefined || query < 0) return url;
  const parts = url
    .slice(query + 1)
    .split('&')
    .map((part) => {
      const key = part.split('=')[0];
      return decodedKey(key).toLowerCase() === 'ticket' ? `${key}=[redacted]` : part;
    });
  return `${url.slice(0, query + 1)}${parts.join('&')}`;
}

function decodedKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    return key;
  }
}

/**
 * Structured JSON logs (pino through nestjs-pino): one line per request with its id, status and
 * time, and every line logged while handling a request carries that request's `req.id`. The id
 * is the caller's `X-Request-Id` when it is sane, else a new UUID, and is sent back in
 * `X-Request-Id`. Tokens, cookies and stream tickets never reach the log.
 */
@Module({
  imports: [
    LoggerModule.forRootAsync({
      inject: [HeraldConfig],
      useFactory: (config: HeraldConfig) => ({
        pinoHttp: [
          {
            level: config.logLevel,
            genReqId: (request: IncomingMessage, response: ServerResponse) => {
              const given = request.headers['x-request-id'];
              const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
              response.setHeader('X-Request-Id', id);
              return id;
            },
            redact: {
              paths: [
                'req.headers.authorization',
                'req.headers.cookie',
                'req.query.ticket',
                'res.headers["set-cookie"]',
              ],
              censor: '[redacted]',
            },
            serializers: {
              req: (request: { url?: string }) => ({ ...request, url: withoutTicket(request.url) }),
            },
            customLogLevel: (_request: IncomingMessage, response: ServerResponse, error?: Error) =>
              error || response.statusCode >= 500 ? 'error' : 'info',
            // Probes and scrapes every few seconds would drown everything else.
            autoLogging: {
              ignore: (request: IncomingMessage) =>
                request.url === '/metrics' || !!request.url?.startsWith('/health/'),
            },
          },
          // Written without blocking: a synchronous write to a full pipe (a slow log collector)
          // waits in a busy loop, stalling every stream (measured: a fifth of a reconnect
          // storm's CPU). Pino flushes what is left on exit and on SIGTERM.
          destination({ sync: false }),
        ],
      }),
    }),
  ],
})
export class LoggingModule {}
