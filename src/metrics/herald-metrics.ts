import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Herald's Prometheus metrics, on a registry of its own (one per app, so that tests can run
 * several apps in one process). Counters are incremented where things happen; gauges are read
 * when Prometheus scrapes (see `gauge`). Every metric is explained in docs/OPERATIONS.md.
 */
@Injectable()
export class HeraldMetrics {
  readonly registry = new Registry();

  /** Notifications (one per recipient) by what became of them; messages for dead_lettered. */
  readonly ingested = new Counter({
    name: 'herald_notifications_ingested_total',
    help: 'Notifications taken from RabbitMQ, by outcome (stored, duplicate, scheduled: per recipient; dead_lettered: per message; retried: per storage retry of a batch)',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  /** Frames written since the last scrape, by event name: counted without prom-client's label lookup. */
  private readonly pendingDeliveries = new Map<string, number>();

  private readonly deliveries = new Counter({
    name: 'herald_deliveries_total',
    help: 'Events written to SSE streams, by event name',
    labelNames: ['event'] as const,
    registers: [this.registry],
    collect: () => {
      for (const [event, count] of this.pendingDeliveries) this.deliveries.inc({ event }, count);
      this.pendingDeliveries.clear();
    },
  });

  readonly replayed = new Counter({
    name: 'herald_replayed_notifications_total',
    help: 'Stored notifications sent to reconnecting streams after their Last-Event-ID',
    registers: [this.registry],
  });

  readonly busDropped = new Counter({
    name: 'herald_realtime_messages_dropped_total',
    help: 'Messages from the realtime exchange (between instances) dropped: unreadable (not a message Herald sends) or unroutable (routing it failed)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly latency = new Histogram({
    name: 'herald_delivery_latency_seconds',
    help: 'From when the producer published a notification (x-herald-sent-at header, else the AMQP timestamp) to its write on a stream',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  constructor() {
    // Process CPU, memory, handles, GC and event-loop lag (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: this.registry });
  }

  /** One event written to an SSE stream (the hot path: one call per frame per stream). */
  delivered(event: string): void {
    this.pendingDeliveries.set(event, (this.pendingDeliveries.get(event) ?? 0) + 1);
  }

  /** A gauge whose value is read from `read` at every scrape. */
  gauge(name: string, help: string, read: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(read());
      },
    });
  }
}
