import { AddressedMessage } from '../notifications/addressed-message';

/**
 * A live event (CONTRACT.md: `event.<name>` routing keys, `POST /admin/events`): recipients, type
 * and data, pushed to the recipients connected now and never stored. Built with validateInput().
 */
export class LiveEventCommand extends AddressedMessage {}

/** A validated live event as it travels between instances. */
export interface LiveEvent {
  kind: 'live';
  tenantId: string | null;
  userIds: string[];
  topics: string[];
  broadcast: boolean;
  type: string;
  data: Record<string, unknown>;
}

export function liveEventOf(command: LiveEventCommand): LiveEvent {
  return {
    kind: 'live',
    tenantId: command.tenantId || null,
    userIds: command.recipients.userIds ?? [],
    topics: command.recipients.topics ?? [],
    broadcast: command.recipients.broadcast === true,
    type: command.type,
    data: command.data ?? {},
  };
}
