import type { LogEntry } from '@canary-rollout/core';
import type { FleetEntry } from './incidents';

/**
 * The latest entry per incident key among alert log entries (oldest first). Entries of another
 * shape (a tool writing its own alerts to the same log) carry no incident and are passed over.
 */
export function latestByKey(entries: readonly LogEntry[]): Map<string, FleetEntry> {
  const out = new Map<string, FleetEntry>();
  for (const entry of entries) {
    const { id, key, since, resolved } = entry as Record<string, unknown>;
    if (typeof id !== 'string' || typeof key !== 'string') continue;
    if (typeof since !== 'number' || typeof resolved !== 'boolean') continue;
    const previous = out.get(key);
    if (previous !== undefined && previous.at > entry.at) continue;
    out.set(key, { id, at: entry.at, since, resolved });
  }
  return out;
}
