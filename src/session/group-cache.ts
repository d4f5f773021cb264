// Group metadata for sends. Baileys asks `cachedGroupMetadata(jid)` before every group send and
// queries WhatsApp when it gets nothing, which is what ends in rate-overlimit for busy groups. This
// cache is filled from groupFetchAllParticipating and first misses, and forgets a group when
// WhatsApp says it changed (subject, participants, settings).
import type { GroupMetadata } from '@whiskeysockets/baileys'

const TTL_MS = 10 * 60_000
const MAX_GROUPS = 2_000

export class GroupMetadataCache {
  private readonly entries = new Map<string, { at: number; metadata: GroupMetadata }>()
  /** WhatsApp queries this cache made on misses (exposed for tests and diagnostics). */
  misses = 0

  get(jid: string): GroupMetadata | undefined {
    const entry = this.entries.get(jid)
    if (!entry) return undefined
    if (Date.now() - entry.at > TTL_MS) {
      this.entries.delete(jid)
      return undefined
    }
    return entry.metadata
  }

  set(metadata: GroupMetadata): void {
    this.entries.delete(metadata.id)
    this.entries.set(metadata.id, { at: Date.now(), metadata })
    if (this.entries.size > MAX_GROUPS) this.entries.delete(this.entries.keys().next().value!)
  }

  forget(jid: string): void {
    this.entries.delete(jid)
  }

  clear(): void {
    this.entries.clear()
  }

  /** The metadata of `jid`, fetching (and keeping) it on a miss. */
  async getOrFetch(jid: string, fetch: (jid: string) => Promise<GroupMetadata>): Promise<GroupMetadata | undefined> {
    const cached = this.get(jid)
    if (cached) return cached
    this.misses++
    const metadata = await fetch(jid)
    this.set(metadata)
    return metadata
  }
}
