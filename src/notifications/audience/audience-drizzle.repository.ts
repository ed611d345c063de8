import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { and, asc, count, eq, gt, inArray, min, sql } from 'drizzle-orm';
import { Database, queryRows } from '../../database/database';
import { knownUsers, topicSubscriptions as subscriptions } from '../../database/schema';
import {
  Audience,
  AudienceMember,
  AudienceRepository,
  SubscribeOutcome,
} from './audience.repository';
import { Recipient, recipientKey } from '../notification';

/**
 * The first key of the two-key advisory locks that serialise one user's subscribing. Two int4
 * keys are a lock space of their own, apart from the one-bigint locks of notification inserts.
 */
const SUBSCRIBE_LOCK = 0x544f5043; // "TOPC"

/** A signed 32-bit lock key per recipient (a collision only serialises two users). */
function subscriberLockKey(recipient: Recipient): number {
  return createHash('sha256').update(recipientKey(recipient)).digest().readInt32BE();
}

@Injectable()
export class AudienceDrizzleRepository extends AudienceRepository {
  constructor(private readonly database: Database) {
    super();
  }

  /**
   * Counts and inserts under a per-user transaction lock. The count is a statement of its own,
   * after the lock: under READ COMMITTED its snapshot is taken once the lock is granted, so it
   * sees every subscription the previous holder committed (a count in the locking statement
   * could read a snapshot from before the wait).
   */
  async subscribe(
    recipient: Recipient,
    topic: string,
    maxTopics: number,
  ): Promise<SubscribeOutcome> {
    const tenantId = recipient.tenantId ?? '';
    return this.database.run((db) =>
      db.transaction(async (tx): Promise<SubscribeOutcome> => {
        await tx.execute(
          sql`SELECT pg_advisory_xact_lock(${SUBSCRIBE_LOCK}::int, ${subscriberLockKey(recipient)}::int)`,
        );
        const [held] = await tx
          .select({
            topics: count(),
            holdsTopic: sql<boolean>`coalesce(bool_or(${subscriptions.topic} = ${topic}), false)`,
          })
          .from(subscriptions)
          .where(
            and(eq(subscriptions.tenantId, tenantId), eq(subscriptions.userId, recipient.userId)),
          );
        if (held.holdsTopic) return 'held';
        if (held.topics >= maxTopics) return 'full';
        const rows = await tx
          .insert(subscriptions)
          .values({ tenantId, userId: recipient.userId, topic })
          .onConflictDoNothing()
          .returning({ topic: subscriptions.topic });
        return rows.length > 0 ? 'added' : 'held';
      }),
    );
  }

  async unsubscribe(recipient: Recipient, topic: string): Promise<boolean> {
    const rows = await this.database.run((db) =>
      db
        .delete(subscriptions)
        .where(
          and(
            eq(subscriptions.tenantId, recipient.tenantId ?? ''),
            eq(subscriptions.userId, recipient.userId),
            eq(subscriptions.topic, topic),
          ),
        )
        .returning({ topic: subscriptions.topic }),
    );
    return rows.length > 0;
  }

  async topicsOf(recipients: Recipient[]): Promise<Map<string, string[]>> {
    const topics = new Map<string, string[]>();
    if (recipients.length === 0) return topics;
    const tenants = sql.param(recipients.map((recipient) => recipient.tenantId ?? ''));
    const users = sql.param(recipients.map((recipient) => recipient.userId));
    const rows = await this.database.run((db) =>
      queryRows<{ tenantId: string; userId: string; topic: string }>(
        db,
        sql`SELECT DISTINCT s.tenant_id AS "tenantId", s.user_id AS "userId", s.topic
          FROM unnest(${tenants}::text[], ${users}::text[]) AS v(t, u)
          JOIN topic_subscriptions s ON s.tenant_id = v.t AND s.user_id = v.u
          ORDER BY s.topic`,
      ),
    );
    for (const { tenantId, userId, topic } of rows) {
      const key = recipientKey({ tenantId: tenantId || null, userId });
      topics.set(key, [...(topics.get(key) ?? []), topic]);
    }
    return topics;
  }

  async topicsPage(
    recipient: Recipient,
    afterTopic: string | undefined,
    limit: number,
  ): Promise<string[]> {
    const rows = await this.database.run((db) =>
      db
        .select({ topic: subscriptions.topic })
        .from(subscriptions)
        .where(
          and(
            eq(subscriptions.tenantId, recipient.tenantId ?? ''),
            eq(subscriptions.userId, recipient.userId),
            afterTopic === undefined ? undefined : gt(subscriptions.topic, afterTopic),
          ),
        )
        .orderBy(asc(subscriptions.topic))
        .limit(limit),
    );
    return rows.map((row) => row.topic);
  }

  async subscribers(
    tenantId: string | null,
    topic: string,
    afterUserId: string | undefined,
    limit: number,
  ): Promise<string[]> {
    const members = await this.page(
      { tenantId, topics: [topic], broadcast: false },
      afterUserId,
      limit,
    );
    return members.map((member) => member.userId);
  }

  async page(
    audience: Audience,
    afterUserId: string | undefined,
    limit: number,
  ): Promise<AudienceMember[]> {
    const tenantId = audience.tenantId ?? '';
    if (audience.broadcast) {
      const rows = await this.database.run((db) =>
        db
          .select({ userId: knownUsers.userId })
          .from(knownUsers)
          .where(
            and(
              eq(knownUsers.tenantId, tenantId),
              afterUserId === undefined ? undefined : gt(knownUsers.userId, afterUserId),
            ),
          )
          .orderBy(asc(knownUsers.userId))
          .limit(limit),
      );
      return rows.map((row) => ({ userId: row.userId, topic: null }));
    }
    if (audience.topics.length === 0) return [];
    // A user in several of the topics gets one notification, tagged with the first topic by name.
    const rows = await this.database.run((db) =>
      db
        .select({ userId: subscriptions.userId, topic: min(subscriptions.topic) })
        .from(subscriptions)
        .where(
          and(
            eq(subscriptions.tenantId, tenantId),
            inArray(subscriptions.topic, audience.topics),
            afterUserId === undefined ? undefined : gt(subscriptions.userId, afterUserId),
          ),
        )
        .groupBy(subscriptions.userId)
        .orderBy(asc(subscriptions.userId))
        .limit(limit),
    );
    return rows.map((row) => ({ userId: row.userId, topic: row.topic }));
  }

  async remember(recipients: Recipient[]): Promise<void> {
    if (recipients.length === 0) return;
    const tenants = sql.param(recipients.map((recipient) => recipient.tenantId ?? ''));
    const users = sql.param(recipients.map((recipient) => recipient.userId));
    await this.database.run((db) =>
      db.execute(
        sql`INSERT INTO known_users (tenant_id, user_id)
          SELECT * FROM unnest(${tenants}::text[], ${users}::text[])
          ON CONFLICT DO NOTHING`,
      ),
    );
  }
}
