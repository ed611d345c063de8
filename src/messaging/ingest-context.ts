import { BaseRpcContext } from '@nestjs/microservices';

/** What an ingest handler can learn about the message it handles (via @Ctx()), whatever the way in. */
export interface IngestContext {
  /** `notification.<type>` or `event.<name>`, when the way in names one: the routing key. */
  getPattern(): string;
  /** The idempotency key when the body has no `id`. */
  getMessageId(): string | undefined;
  /** When the producer sent it, in ms since the epoch, if known. */
  getSentAt(): number | undefined;
}

/**
 * A Redis stream entry (its id) or a pub/sub message (no id) and the pattern it stands for
 * (`notification`, or `event.<name>` from its channel).
 */
export class RedisContext
  extends BaseRpcContext<[string | undefined, string]>
  implements IngestContext
{
  getPattern(): string {
    return this.args[1];
  }

  /** The entry id: a redelivered entry is recognised even when the producer gave no `id`. */
  getMessageId(): string | undefined {
    const id = this.args[0];
    return id === undefined ? undefined : `redis:${id}`;
  }

  /** An entry id starts with the time Redis added it, in ms. */
  getSentAt(): number | undefined {
    const ms = Number(this.args[0]?.split('-')[0]);
    return Number.isFinite(ms) && ms > 0 ? ms : undefined;
  }
}
