/** A muted-types entry: an exact type (`promo.weekly`) or a prefix (`promo.*`). */
export const MUTE_PATTERN = /^[A-Za-z0-9_.:-]{1,100}(\.\*)?$/;

/**
 * Whether `type` is muted by one of `mutedTypes`: an exact match, or `prefix.*` matching every
 * type that starts with `prefix.` (`promo.*` mutes `promo.weekly` and `promo.x.y`, not `promo`).
 */
export function isMuted(type: string, mutedTypes: readonly string[]): boolean {
  return mutedTypes.some((muted) =>
    muted.endsWith('.*') ? type.startsWith(muted.slice(0, -1)) : muted === type,
  );
}
