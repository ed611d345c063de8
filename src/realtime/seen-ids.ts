import { compareIds } from '../notifications/notification';

/** Ids kept one by one above the floor; past this many the floor rises to the oldest of them. */
const WINDOW = 64;

/** What SeenIds.add learnt of an id: taken in now, taken in before, or too late to tell. */
type Seen = 'new' | 'seen' | 'unknown';

/**
 * The notification ids of one user that an unread count takes in: all of them up to a floor (the
 * position the count was read at), and each one counted since. A user's ids grow in commit order,
 * but they need not arrive in that order: a notification stored by another instance comes over
 * RabbitMQ, and can arrive after a newer one stored here. So "at or below the newest counted" does
 * not mean "counted". Only 64 ids are kept one by one; an id that arrives later than that, below
 * the risen floor, is 'unknown': the count must be read again.
 */
export class SeenIds {
  /** Ascending. */
  private readonly above: string[] = [];
  private floor: string;

  /** `position`: what the count read from storage takes in. */
  constructor(private readonly position: string) {
    this.floor = position;
  }

  /** The highest id taken in. */
  get newest(): string {
    return this.above.at(-1) ?? this.floor;
  }

  /** Takes `id` in, unless it was seen already or arrives too late to tell. */
  add(id: string): Seen {
    if (compareIds(id, this.position) <= 0) return 'seen';
    if (compareIds(id, this.floor) <= 0) return 'unknown';
    let index = this.above.length;
    while (index > 0 && compareIds(this.above[index - 1], id) > 0) index -= 1; // in order: none
    if (index > 0 && this.above[index - 1] === id) return 'seen';
    if (index === this.above.length) this.above.push(id);
    else this.above.splice(index, 0, id);
    if (this.above.length > WINDOW) this.floor = this.above.shift()!;
    return 'new';
  }
}
