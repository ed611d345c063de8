/**
 * Baseline 1: the naive NestJS pattern. One global RxJS Subject fed from RabbitMQ; every
 * connection's `@Sse()` Observable `filter()`s the whole firehose for its user. Each message is
 * looked at by every open stream: the cost of a delivery grows with the number of connections.
 *
 *   tsx bench/baselines/naive.ts   (env: PORT, AMQP_URL, AMQP_PREFIX; prints "Listening on …")
 */
import 'reflect-metadata';
import { Controller, Inject, Injectable, MessageEvent, Module, Query, Sse } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { filter, map, merge, Observable, of, Subject } from 'rxjs';
import { BenchMessage, consumeBenchMessages } from './feed';

@Injectable()
class Firehose {
  readonly messages = new Subject<BenchMessage>();
}

@Controller()
class StreamController {
  // Explicit token: tsx compiles without decorator metadata.
  constructor(@Inject(Firehose) private readonly firehose: Firehose) {}

  @Sse('stream')
  stream(@Query('user') user: string): Observable<MessageEvent> {
    return merge(
      of({ type: 'unread-count', data: { count: 0 } }),
      this.firehose.messages.pipe(
        filter((message) => message.broadcast || message.userIds.includes(user)),
        map((message) => ({ type: message.event, data: message.body as object })),
      ),
    );
  }
}

@Module({ controllers: [StreamController], providers: [Firehose] })
class NaiveModule {}

async function main(): Promise<void> {
  const app = await NestFactory.create(NaiveModule, { logger: ['error'] });
  const firehose = app.get(Firehose);
  await consumeBenchMessages(process.env, (message) => firehose.messages.next(message));
  await app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  process.stdout.write(`Listening on http://127.0.0.1:${port}\nConsuming bench messages\n`);
}

void main();
