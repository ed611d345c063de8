import { validateInput } from '../../src/common/validation';
import { CreateNotificationCommand } from '../../src/notifications/intake/create-notification.command';
import { Intake, KeyedCommand } from '../../src/notifications/intake/intake';
import type { RunningHerald } from './herald';

let sequence = 0;

/**
 * Stores `count` notifications for `userIds` straight through the domain service, oldest first;
 * answers their ids in that order.
 */
export async function storeNotifications(
  herald: RunningHerald,
  fields: Partial<CreateNotificationCommand> & { userIds: string[] },
  count = 1,
): Promise<string[]> {
  const { userIds, ...rest } = fields;
  const commands = Array.from({ length: count }, () => {
    sequence += 1;
    return validateInput(CreateNotificationCommand, {
      id: `note-${process.pid}-${sequence}`,
      type: 'test.note',
      title: `Note ${sequence}`,
      ...rest,
      recipients: { userIds },
    }) as KeyedCommand;
  });
  const results = await herald.app.get(Intake).create(commands);
  return results.flatMap((result) => result.ids);
}
