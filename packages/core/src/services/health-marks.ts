import type { MetaRecord, RolloutStore } from '../storage/types';
import { HEALTH_MARK_PREFIX, healthMarkKey } from '../thresholds/stability';

/**
 * The features' health marks (meta records under `health:`) as this service last read or wrote
 * them: what the synchronous status shows. The raise guard reads the store itself.
 */
export class HealthMarkBook {
  private byKey = new Map<string, { record: MetaRecord; stamp: number }>();
  /** Counts what was kept, so a read learns which marks arrived while it was under way. */
  private stamp = 0;

  constructor(private readonly store: RolloutStore) {}

  /** Every mark known, as last read or written. */
  records(): MetaRecord[] {
    return [...this.byKey.values()].map((e) => e.record);
  }

  /** Reads every mark from the store and keeps them; returns them. */
  async readAll(): Promise<MetaRecord[]> {
    const started = this.stamp;
    const read = await this.store.readMeta(HEALTH_MARK_PREFIX);
    const next = new Map<string, { record: MetaRecord; stamp: number }>();
    for (const record of read) next.set(record.key, { record, stamp: started });
    // What this process wrote or read meanwhile is newer than what the read saw.
    for (const [key, entry] of this.byKey) if (entry.stamp > started) next.set(key, entry);
    this.byKey = next;
    return read;
  }

  /** Reads one feature's mark from the store (undefined when it has none) and keeps it. */
  async read(feature: string): Promise<MetaRecord | undefined> {
    const key = healthMarkKey(feature);
    // The prefix read also matches longer names that start with this one.
    const found = (await this.store.readMeta(key)).find((r) => r.key === key);
    if (found === undefined) this.byKey.delete(key);
    else this.remember(found);
    return found;
  }

  /** Keeps a mark this process wrote or read. */
  remember(record: MetaRecord): void {
    this.byKey.set(record.key, { record, stamp: ++this.stamp });
  }
}
