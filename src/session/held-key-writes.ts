// Signal key writes held back until the message whose decryption made them is stored (ack after
// commit, issue 18 #5).
//
// Decrypting a message moves its sender's Signal ratchet on, and Baileys writes the new state before
// it hands the message over. Were the process to die after that write and before the message's event
// is committed, WhatsApp would deliver the message again (it got no receipt), but the device could no
// longer read it: its key was used already, Baileys answers such a duplicate with a nack, and
// WhatsApp drops it. So the writes wait here, in memory (reads see them), and reach the store after
// the event: a crash in between leaves the old ratchet, which reads the message again.
//
// Which writes belong to which message: Baileys decrypts one message at a time and hands it over
// right after, so what was written since the previous hand-over is sealed as that message's batch
// (seal()), written once its event is. Writes no message follows (pre-keys, app-state keys, a
// message that failed to decrypt, ...) are sealed after `lingerMs` and written at once, or, if a
// message's batch sealed before them still waits for its event, right after that one.
//
// Batches reach the store one at a time and in the order they were sealed (a batch whose message
// failed to be stored goes with the next one): the store never goes back to an older value. Batches
// that became ready while the store was busy go together in its next write: in a burst the
// connection stores the next message's event while this one's keys are written, and a key-store
// transaction per message cost more than the decryption itself (bench/RESULTS.md, storm).
//
// Ready batches are written oldest first, and the caller makes a batch ready only once every message
// sealed before it has been stored or has failed (the connection's ingest queue runs in order), so a
// batch left behind unready is one whose message failed, and it goes with the next ready one.
import type { SignalDataSet, SignalDataTypeMap, SignalKeyStore } from '@whiskeysockets/baileys'

type KeyType = keyof SignalDataTypeMap
/** type -> id -> value, null to delete */
type Writes = Map<KeyType, Map<string, unknown>>
/** ready: its message is stored (or it follows no message), so it may reach the store. */
type Batch = { writes: Writes; ofMessage: boolean; ready: boolean }

export class HeldKeyWrites implements SignalKeyStore {
  /** Written since the last seal. */
  private open: Writes = new Map()
  /** Sealed and not yet in the store, oldest first. */
  private sealed: Batch[] = []
  /** Reads in progress, and the batches that reached the store meanwhile (a read may predate them). */
  private reads = 0
  private recent: Writes[] = []
  /** The store's writes, one at a time. */
  private writing: Promise<unknown> = Promise.resolve()
  private timer: NodeJS.Timeout | undefined
  /** Set by discard(): the device is forgotten, nothing held may reach the store any more. */
  private discarded = false

  constructor(
    private readonly store: SignalKeyStore,
    private readonly lingerMs: number,
    /** A write of writes no message followed failed (nobody else waits for it). */
    private readonly onLingerFailure: (error: unknown) => void = () => {},
  ) {}

  async get<T extends KeyType>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    this.reads++
    let found: { [id: string]: SignalDataTypeMap[T] }
    try {
      found = { ...(await this.store.get(type, ids)) }
    } finally {
      this.reads--
    }
    // What is held is newer than what was read; the newest holding wins.
    for (const writes of [...this.recent, ...this.sealed.map((batch) => batch.writes), this.open]) {
      const values = writes.get(type)
      if (!values) continue
      for (const id of ids) {
        if (!values.has(id)) continue
        const value = values.get(id)
        if (value === null || value === undefined) delete found[id]
        else found[id] = value as SignalDataTypeMap[T]
      }
    }
    if (this.reads === 0) this.recent = []
    return found
  }

  set(data: SignalDataSet): void {
    if (this.discarded) return
    for (const [type, values] of Object.entries(data) as Array<[KeyType, Record<string, unknown> | undefined]>) {
      if (!values) continue
      let held = this.open.get(type)
      if (!held) this.open.set(type, (held = new Map()))
      for (const [id, value] of Object.entries(values)) held.set(id, value ?? null)
    }
    if (!this.timer && this.open.size > 0) {
      this.timer = setTimeout(() => this.lingered(), this.lingerMs)
      this.timer.unref?.()
    }
  }

  /**
   * Seals what was written so far (the writes of the message just decrypted) and returns the
   * function that writes it, to be called once that message's event is stored.
   */
  seal(): () => Promise<void> {
    const batch = this.sealOpen(true)
    return batch
      ? () => {
          batch.ready = true
          return this.writeThrough(batch)
        }
      : async () => {}
  }

  /** Writes everything held (the session is stopping). */
  async flush(): Promise<void> {
    this.sealOpen(false)
    for (const batch of this.sealed) batch.ready = true
    const last = this.sealed.at(-1)
    if (last) await this.writeThrough(last)
  }

  /** Drops everything held: the device is being forgotten (its keys are deleted). */
  discard(): void {
    this.discarded = true
    clearTimeout(this.timer)
    this.open = new Map()
    this.sealed = []
    this.recent = []
  }

  private sealOpen(ofMessage: boolean): Batch | undefined {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.open.size === 0) return undefined
    const batch = { writes: this.open, ofMessage, ready: !ofMessage }
    this.open = new Map()
    this.sealed.push(batch)
    return batch
  }

  /** Writes no message followed: at once, unless a message's batch before them waits for its event. */
  private lingered(): void {
    this.timer = undefined
    const batch = this.sealOpen(false)
    if (batch && !this.sealed.some((earlier) => earlier.ofMessage)) this.writeThrough(batch).catch(this.onLingerFailure)
  }

  /**
   * Writes the batch, with the batches sealed before it that are still here (a message that failed
   * to be stored), the ones after it that became ready meanwhile and the lingering ones right after
   * those, in one write, after the writes before. Resolves once the batch is in the store.
   */
  private writeThrough(batch: Batch): Promise<void> {
    const run = this.writing.then(async () => {
      let upTo = this.sealed.indexOf(batch)
      if (upTo < 0 || this.discarded) return // written already, with an earlier call's write
      while (this.sealed[upTo + 1]?.ready) upTo++
      const batches = this.sealed.slice(0, upTo + 1)
      const data: Record<string, Record<string, unknown>> = {}
      for (const { writes } of batches) {
        for (const [type, values] of writes) Object.assign((data[type] ??= {}), Object.fromEntries(values))
      }
      await this.store.set(data as SignalDataSet)
      this.sealed = this.sealed.filter((sealed) => !batches.includes(sealed))
      if (this.reads > 0) this.recent.push(...batches.map((written) => written.writes))
    })
    this.writing = run.catch(() => {})
    return run
  }
}
