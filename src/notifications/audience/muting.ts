/** A muted-types entry: an exact type (`promo.weekly`) or a prefix (`promo.*`). */
export const MUTE_PATTERN = /^[A-Za-z0-9_.:-]{1,100}(\.\*)?$/;

/** What a user muted (their preferences). */
export interface Muting {
  mutedTypes: readonly string[];
  mutedCategories: readonly string[];
}

/**
 * Whether a notification is muted: its category is one of `mutedCategories`, or its type is muted
 * by one of `mutedTypes`, an exact match or `prefix.*` matching every type that starts with
 * `prefix.` (`promo.*` mutes `promo.weekly` and `promo.x.y`, not `promo`). The caller lets
 * `critical` through.
 */
export function isMuted(
  notification: { type: string; category: string | null },
  { mutedTypes, mutedCategories }: Muting,
): boolean {
  const { type, category } = notification;
  if (category !== null && mutedCategories.includes(category)) return true;
  return mutedTypes.some((muted) =>
    muted.endsWith('.*') ? type.startsWith(muted.slice(0, -1)) : muted === type,
  );
}
