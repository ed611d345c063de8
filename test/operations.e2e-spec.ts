import { rabbitmqctl, TestBroker } from './support/amqp';
import { RunningHerald, startHerald } from './support/herald';
import { eventually } from './support/eventually';
import { api } from './support/http';
import { SseClient } from './support/sse';
import { userToken } from './support/tokens';

/** One sample of the Prometheus text, e.g. `herald_deliveries_total{event="notification"}`. */
function sample(metrics: string, series: string): number {
  const line = metrics.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : NaN;
}

/** Readiness and metrics of a running Herald, against the real broker and database. */
describe('operations', () => {
  let herald: RunningHerald;
  let broker: TestBroker;

  beforeAll(async () => {
    herald = await startHerald({ storage: 'postgres' });
    broker = await TestBroker.connect();
  });

  afterAll(async () => {
    await broker?.close();
    await herald?.close();
  });

  const scrape = async () => {
    const answer = await api<string>(herald, 'GET', '/metrics');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^text\/plain/);
    return answer.body;
  };

  it('moves the metrics with a delivery: ingested, delivered, latency, open streams', async () => {
    const before = await scrape();
    const stream = await SseClient.open(herald, { token: await userToken('metered') });
    try {
      await stream.nextOf('unread-count');
      const sentAt = Date.now();
      await broker.publish(
        herald,
        'notification.metered',
        { id: 'metered-1', recipients: { userIds: ['metered'] }, title: 'Counted' },
        { headers: { 'x-herald-sent-at': sentAt } },
      );
      await stream.nextOf('notification');
      const after = await eventually(async () => {
        const text = await scrape();
        expect(sample(text, 'herald_delivery_latency_seconds_count')).toBe(1);
        return text;
      });
      const moved = (series: string) => sample(after, series) - (sample(before, series) || 0);
      expect(moved('herald_notifications_ingested_total{outcome="stored"}')).toBe(1);
      expect(moved('herald_deliveries_total{event="notification"}')).toBe(1);
      expect(moved('herald_deliveries_total{event="unread-count"}')).toBeGreaterThanOrEqual(2);
      expect(sample(after, 'herald_streams_open')).toBe(1);
      expect(sample(after, 'herald_users_online')).toBe(1);
      expect(sample(after, 'herald_delivery_latency_seconds_sum')).toBeLessThan(
        (Date.now() - sentAt) / 1000,
      );
      expect(after).toContain('nodejs_eventloop_lag_seconds');
      expect(after).toContain('process_resident_memory_bytes');

      // A repeat is a duplicate, not a second notification.
      await broker.request(herald, 'notification.metered', {
        id: 'metered-1',
        recipients: { userIds: ['metered'] },
        title: 'Counted',
      });
      const again = await scrape();
      expect(sample(again, 'herald_notifications_ingested_total{outcome="duplicate"}')).toBe(1);
    } finally {
      stream.close();
    }
  });

  it('counts dead letters', async () => {
    await broker.publish(herald, 'notification.bad', 'not json', { messageId: 'bad-metric' });
    await eventually(async () =>
      expect(
        sample(await scrape(), 'herald_notifications_ingested_total{outcome="dead_lettered"}'),
      ).toBe(1),
    );
  });

  it('is ready while storage and RabbitMQ are, 503 while RabbitMQ is gone, ready again after', async () => {
    const ready = () => api(herald, 'GET', '/health/ready');
    expect(await ready()).toMatchObject({
      status: 200,
      body: { status: 'ok', details: { storage: { status: 'up' }, rabbitmq: { status: 'up' } } },
    });

    await rabbitmqctl('close_all_connections', 'herald e2e: readiness');
    const down = await eventually(
      async () => {
        const answer = await ready();
        expect(answer.status).toBe(503);
        return answer;
      },
      { intervalMs: 5 },
    );
    expect(down.body).toMatchObject({
      status: 'error',
      details: { storage: { status: 'up' }, rabbitmq: { status: 'down' } },
    });
    // Liveness says nothing of dependencies.
    expect((await api(herald, 'GET', '/health/live')).status).toBe(200);

    await eventually(async () => expect((await ready()).status).toBe(200), {
      timeoutMs: 15_000,
    });
    broker = await TestBroker.connect(); // ours was cut too
  });
});
