/**
 * The request ids one serving process answered most recently, to refuse a client-supplied id it has
 * already answered (409). Outcome rows join to the first logged prediction with their request id
 * (src/activities/ingest-shard.ts), so a reused id would attach a later request's outcome to an earlier
 * request's features, or leave the later one without its outcome. Bounded: the oldest ids are
 * forgotten first, so memory stays fixed (about 100 bytes an id).
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly ring: (string | undefined)[];
  private next = 0;

  /** Remembers at most `capacity` ids (0 remembers none: every id is accepted). */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new Error(`requestIdWindow must be a non-negative integer, got ${capacity}`);
    this.ring = new Array<string | undefined>(capacity);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Remembers `id`, forgetting the oldest one when full. */
  add(id: string): void {
    if (this.capacity === 0 || this.ids.has(id)) return;
    const old = this.ring[this.next];
    if (old !== undefined) this.ids.delete(old);
    this.ring[this.next] = id;
    this.ids.add(id);
    this.next = (this.next + 1) % this.capacity;
  }
}
