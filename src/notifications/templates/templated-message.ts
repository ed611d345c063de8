import type { NotificationDraft, RenderedText } from '../notification';
import { CompiledTemplate, GroupValues, RENDERED_LIMITS } from './compiled-template';

/** A group as its first message makes it, before storing finds the one it may join. */
export function groupStart(actor: string | null | undefined): GroupValues {
  return { count: 1, actors: actor === null || actor === undefined ? [] : [actor] };
}

/** Where a recipient reads: their `locale` and `timeZone` preferences. */
export interface Reader {
  locale: string | null;
  timeZone: string | null;
}

/**
 * One message's drafts rendered from its template: each in the template's locale nearest the
 * message's `locale`, else the recipient's, and dates in the recipient's time zone. What a locale
 * (and zone, where the template writes dates) renders for a first (ungrouped) text is the same for
 * every recipient who reads it there, so it is rendered once; a draft of a group renders again
 * once storing knows the group's count and actors (`regroup`).
 */
export class TemplatedMessage {
  private readonly first = new Map<string, { locale: string; text: RenderedText }>();

  constructor(
    private readonly template: CompiledTemplate,
    private readonly data: Record<string, unknown>,
    /** The message's `locale` (canonical), which wins over the recipient's. */
    private readonly locale: string | null,
  ) {}

  render(draft: NotificationDraft, reader: Reader): NotificationDraft {
    const chosen = this.template.localeFor(this.locale ?? reader.locale);
    const zone = this.template.usesDates ? reader.timeZone : null;
    const key = zone === null ? chosen : `${chosen} ${zone}`;
    let start = this.first.get(key);
    if (!start) {
      start = this.text(draft, chosen, zone, draft.group && groupStart(draft.group.actor));
      this.first.set(key, start);
    }
    return {
      ...draft,
      ...start.text,
      locale: start.locale,
      ...(draft.group && { regroup: (group) => this.text(draft, chosen, zone, group).text }),
    };
  }

  /** Cut to the limits of a message's own fields; the message's body and labels where none. */
  private text(
    draft: NotificationDraft,
    locale: string,
    timeZone: string | null,
    group: GroupValues | null,
  ): { locale: string; text: RenderedText } {
    const rendered = this.template.renderSafely(locale, this.data, group, timeZone);
    return {
      locale: rendered.locale,
      text: {
        title: rendered.title.slice(0, RENDERED_LIMITS.title),
        body: rendered.body === null ? draft.body : rendered.body.slice(0, RENDERED_LIMITS.body),
        actions: draft.actions.map((action) => ({
          ...action,
          label: (rendered.labels[action.id] ?? action.label).slice(0, RENDERED_LIMITS.label),
        })),
      },
    };
  }
}
