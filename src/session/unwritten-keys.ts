// Auth keys the store refused until a session's connection closed in this process (auth-store.ts):
// kept for the session's next AuthStore here. Its own module, without Baileys: a Session holds one
// for the process's life, and the Session is loaded before the WhatsApp side is.

/** Keys not yet in the database, by type then id: the newest value (null: deleted). */
export type Pending = Map<string, Map<string, unknown>>

/** What a closed AuthStore could not write, kept for the session's next AuthStore in this process. */
export class UnwrittenKeys {
  private kept: Pending | undefined

  /** How many keys (and creds) are kept. */
  get size(): number {
    return countOf(this.kept)
  }

  keep(pending: Pending): void {
    this.kept = pending
  }

  /** What was kept, once: for the next AuthStore to write first, or to drop. */
  take(): Pending | undefined {
    const kept = this.kept
    this.kept = undefined
    return kept
  }
}

export function countOf(pending: Pending | undefined): number {
  let count = 0
  for (const entries of pending?.values() ?? []) count += entries.size
  return count
}
