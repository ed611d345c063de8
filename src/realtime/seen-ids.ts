import { compareIds } from '../notifications/notification';

/** Ids kept one by one above the floor; past this many the floor rises to the oldest of them. */
const WINDOW = 64;

/**
 * The notification ids of one user that an unread count takes in: all of them up to a floor (the
 * position the count was read at), and each one counted since. A user's ids grow in commit order,
 * but they need not arrive in that order: a notification stored by another instance comes over
 * RabbitMQ, and can arrive after a newer one stored here. So "at or below the newest counted" does
 * not mean "counted". An id that arrives after 64 newer ones is taken as counted (the window is
 * what keeps this small; the next recount corrects it).
 */
export class SeenIds {
  /** Ascending. */
  private readonly above: string[] = [];

  constructor(private floor: string) {}

  /** The highest id taken in. */
  get newest(): string {
    return this.above.at(-1) ?? this.floor;
  }

  /** Takes `id` in; false when it was seen already. */
  add(id: string): boolean {
    if (compareIds(id, this.floor) <= 0) return false;
    let index = this.above.length;
    while (index > 0 && compareIds(this.above[index - 1], id) > 0) index -= 1; // in order: none
    if (index > 0 && this.above[index - 1] === id) return false;
    if (index === this.above.length) this.above.push(id);
    else this.above.splice(index, 0, id);
    if (this.above.length > WINDOW) this.floor = this.above.shift()!;
    return true;
  }
}
