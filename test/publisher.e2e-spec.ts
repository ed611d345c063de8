import { Test } from '@nestjs/testing';
import { createServer, Server, Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { HeraldConfig, loadConfig } from '../src/config/herald-config';
import { AmqpPublisher, BrokerUnavailableError } from '../src/messaging/amqp-publisher';
import { amqpTopology } from '../src/messaging/amqp-topology';
import { deleteTopology, TEST_AMQP_URL, TestBroker } from './support/amqp';
import { uniqueName } from './support/storage';

async function publisherFor(env: Record<string, string>): Promise<AmqpPublisher> {
  const moduleRef = await Test.createTestingModule({
    providers: [AmqpPublisher, { provide: HeraldConfig, useValue: loadConfig(env) }],
  }).compile();
  return moduleRef.get(AmqpPublisher);
}

describe('AmqpPublisher', () => {
  it('publishes with a confirm: the message is in the broker when publish() resolves', async () => {
    const env = { AMQP_URL: TEST_AMQP_URL, AMQP_PREFIX: `${uniqueName('amqp')}.` };
    const config = loadConfig(env);
    const publisher = await publisherFor(env);
    const broker = await TestBroker.connect();
    try {
      const queue = await broker.channel.assertQueue('', { exclusive: true });
      await publisher.waitForConnect(5000);
      await broker.channel.bindQueue(
        queue.queue,
        amqpTopology(config.amqp).exchange,
        'notification.#',
      );
      await publisher.publish('notification.test', { hello: 'world' }, { messageId: 'm-1' });
      const message = await broker.channel.get(queue.queue, { noAck: true });
      expect(message && JSON.parse(message.content.toString())).toEqual({ hello: 'world' });
      expect(message && message.properties).toMatchObject({
        messageId: 'm-1',
        contentType: 'application/json',
        deliveryMode: 2,
      });
    } finally {
      await publisher.onApplicationShutdown();
      await broker.close();
      await deleteTopology(config.amqp);
    }
  });

  describe('while the broker is unreachable', () => {
    let silent: Server;
    let port: number;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      // A port that accepts TCP and never speaks AMQP: connecting hangs, as with a dead broker.
      silent = createServer((socket) => {
        sockets.add(socket.on('error', () => undefined));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      port = (silent.address() as AddressInfo).port;
    });

    afterAll(async () => {
      sockets.forEach((socket) => socket.destroy());
      await new Promise((resolve) => silent.close(resolve));
    });

    it('buffers up to AMQP_PUBLISH_BUFFER messages, then refuses at once', async () => {
      const publisher = await publisherFor({
        AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}`,
        AMQP_PUBLISH_BUFFER: '3',
      });
      const buffered = [1, 2, 3].map((n) => publisher.publish('notification.t', { n }));
      // Those three wait for a broker; the caller decides what a late confirm means.
      for (const attempt of buffered) attempt.catch(() => undefined);
      const started = Date.now();
      await expect(publisher.publish('notification.t', { n: 4 })).rejects.toThrow(
        BrokerUnavailableError,
      );
      await expect(publisher.publish('notification.t', { n: 5 })).rejects.toThrow(
        'RabbitMQ is unreachable and 3 messages are waiting',
      );
      expect(Date.now() - started).toBeLessThan(1000);
      await publisher.onApplicationShutdown();
    });
  });
});
