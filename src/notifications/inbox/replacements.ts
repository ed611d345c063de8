import type { RawQuery } from '../../database/database';
import { GroupSpec, MAX_ACTORS, NotificationDraft, recipientKey } from '../notification';

/**
 * What a draft becomes beside its own fields: the notification it replaces (`collapseKey`) or
 * joins (`group`), as a stored id or as an earlier draft of the same batch, and its group's count,
 * actors and start. Planned in the transaction that stores it, once it holds its recipients'
 * locks: no other writer of those recipients runs meanwhile, so two messages with one key leave
 * one notification.
 */
export interface Replacement {
  replaces?: { id: string } | { draft: number };
  groupCount: number;
  actors: string[];
  /** When the group's first message came; null: now (it starts with this one). */
  groupStartedAt: string | null;
}

const PLAIN: Replacement = { groupCount: 1, actors: [], groupStartedAt: null };

/**
 * Per draft with a collapseKey or a group ($1 tenant, $2 user, $3 kind, $4 key, $5 window in
 * seconds, $6 idempotency key): whether it is stored already (a redelivery), the recipient's
 * newest notification of that key, and whether a group can take more (unread, not archived, not
 * expired, its first message younger than the window).
 */
const FIND_TARGETS = `
  SELECT v.n, c.id AS collapse_id, g.id AS group_id, g.group_count, g.actors,
    g.group_started_at, g.joinable, EXISTS (
      SELECT 1 FROM notifications d
      WHERE d.tenant_id = v.t AND d.user_id = v.u AND d.idempotency_key = v.k
    ) AS stored
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[])
    WITH ORDINALITY AS v(t, u, kind, key, win, k, n)
  LEFT JOIN LATERAL (
    SELECT x.id::text AS id FROM notifications x
    WHERE v.kind = 'collapse' AND x.tenant_id = v.t AND x.user_id = v.u
      AND x.collapse_key = v.key AND x.deleted_at IS NULL
    ORDER BY x.id DESC LIMIT 1
  ) c ON true
  LEFT JOIN LATERAL (
    SELECT x.id::text AS id, x.group_count, x.actors, x.group_started_at,
      x.read_at IS NULL AND x.archived_at IS NULL
        AND (x.expires_at IS NULL OR x.expires_at > now())
        AND x.group_started_at > now() - make_interval(secs => v.win) AS joinable
    FROM notifications x
    WHERE v.kind = 'group' AND x.tenant_id = v.t AND x.user_id = v.u
      AND x.group_key = v.key AND x.deleted_at IS NULL
    ORDER BY x.id DESC LIMIT 1
  ) g ON true
  ORDER BY v.n`;

interface TargetRow {
  collapse_id: string | null;
  group_id: string | null;
  group_count: number | null;
  actors: string[] | null;
  group_started_at: Date | string | null;
  joinable: boolean | null;
  stored: boolean;
}

/** `actor` first, then the others, distinct, at most MAX_ACTORS. */
function withActor(actor: string | null, actors: string[]): string[] {
  const all = actor === null ? actors : [actor, ...actors.filter((each) => each !== actor)];
  return all.slice(0, MAX_ACTORS);
}

type Earlier = { index: number; plan: Replacement } | undefined;

/** A collapseKey's: it replaces the earlier draft of its key, or the newest stored one. */
function replacing(earlier: Earlier, row: TargetRow): Replacement {
  if (earlier) return { ...PLAIN, replaces: { draft: earlier.index } };
  return row.collapse_id ? { ...PLAIN, replaces: { id: row.collapse_id } } : PLAIN;
}

/** A group's: it joins the earlier draft of its key, or the newest stored one, while open. */
function joining(group: GroupSpec, earlier: Earlier, row: TargetRow): Replacement {
  const since = Date.now() - group.windowSeconds * 1000;
  const open = earlier
    ? earlier.plan.groupStartedAt === null || Date.parse(earlier.plan.groupStartedAt) > since
    : row.group_id !== null && row.joinable === true;
  if (!open) return { ...PLAIN, actors: withActor(group.actor, []) };
  const base = earlier?.plan ?? {
    groupCount: Number(row.group_count),
    actors: row.actors ?? [],
    groupStartedAt:
      row.group_started_at === null ? null : new Date(row.group_started_at).toISOString(),
  };
  return {
    replaces: earlier ? { draft: earlier.index } : { id: row.group_id! },
    groupCount: base.groupCount + 1,
    actors: withActor(group.actor, base.actors),
    groupStartedAt: base.groupStartedAt,
  };
}

/**
 * The Replacement of every draft, in draft order. A key repeated within the batch chains: the
 * later draft replaces or joins the earlier one.
 */
export async function planReplacements(
  query: RawQuery,
  drafts: NotificationDraft[],
): Promise<Replacement[]> {
  const keyed = drafts
    .map((draft, index) => ({ draft, index }))
    .filter(({ draft }) => draft.collapseKey !== null || draft.group !== null);
  if (keyed.length === 0) return drafts.map(() => PLAIN);
  const rows = await query<TargetRow>(FIND_TARGETS, [
    keyed.map(({ draft }) => draft.recipient.tenantId ?? ''),
    keyed.map(({ draft }) => draft.recipient.userId),
    keyed.map(({ draft }) => (draft.collapseKey !== null ? 'collapse' : 'group')),
    keyed.map(({ draft }) => draft.collapseKey ?? draft.group!.key),
    keyed.map(({ draft }) => draft.group?.windowSeconds ?? 0),
    keyed.map(({ draft }) => draft.idempotencyKey),
  ]);
  const plans: Replacement[] = drafts.map(() => PLAIN);
  /** The latest draft of the batch per recipient and key. */
  const latest = new Map<string, NonNullable<Earlier>>();
  /** The first draft of each idempotency key (per recipient): a repeat is not stored. */
  const first = new Map<string, number>();
  const idempotency = (draft: NotificationDraft) =>
    `${recipientKey(draft.recipient)}\u0000${draft.idempotencyKey}`;
  for (const [index, draft] of drafts.entries()) {
    if (!first.has(idempotency(draft))) first.set(idempotency(draft), index);
  }
  for (const [position, { draft, index }] of keyed.entries()) {
    const row = rows[position];
    // Stored already, or earlier in this batch: it stores nothing, so it replaces nothing and
    // later drafts of its key look past it.
    if (row.stored || first.get(idempotency(draft)) !== index) continue;
    const { collapseKey, group } = draft;
    const kind = collapseKey !== null ? 'c' : 'g';
    const key = `${recipientKey(draft.recipient)}\u0000${kind}\u0000${collapseKey ?? group!.key}`;
    const earlier = latest.get(key);
    const plan = group === null ? replacing(earlier, row) : joining(group, earlier, row);
    plans[index] = plan;
    latest.set(key, { index, plan });
  }
  return plans;
}
