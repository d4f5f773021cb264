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
// (seal()), to be written once its event is. Writes no message follows (pre-keys, app-state keys,
// sender keys of a failed message, ...) are sealed and written on their own after `lingerMs`.
import type { SignalDataSet, SignalDataTypeMap, SignalKeyStore } from '@whiskeysockets/baileys'

type KeyType = keyof SignalDataTypeMap
/** type -> id -> value, null to delete */
type Writes = Map<KeyType, Map<string, unknown>>

export class HeldKeyWrites implements SignalKeyStore {
  /** Written since the last seal. */
  private open: Writes = new Map()
  /** Sealed and not yet in the store, oldest first. */
  private readonly sealed: Writes[] = []
  /** Reads in progress, and the batches that reached the store meanwhile (a read may predate them). */
  private reads = 0
  private recent: Writes[] = []
  private timer: NodeJS.Timeout | undefined
  /** Set by discard(): the device is forgotten, nothing held may reach the store any more. */
  private discarded = false

  /**
   * @param store where the writes go
   * @param schedule runs a write in order with the events (the session's ingest queue)
   */
  constructor(
    private readonly store: SignalKeyStore,
    private readonly schedule: (write: () => Promise<void>) => void,
    private readonly lingerMs: number,
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
    for (const writes of [...this.recent, ...this.sealed, this.open]) {
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
      this.timer = setTimeout(() => {
        this.timer = undefined
        const batch = this.seal()
        this.schedule(batch)
      }, this.lingerMs)
      this.timer.unref?.()
    }
  }

  /**
   * Seals what was written so far (the writes of the message just decrypted, and any before it) and
   * returns the function that writes it, to be run after that message's event is stored.
   */
  seal(): () => Promise<void> {
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.open.size === 0) return async () => {}
    const batch = this.open
    this.open = new Map()
    this.sealed.push(batch)
    return () => this.write(batch)
  }

  /** Seals and writes everything held (the session is stopping). */
  async flush(): Promise<void> {
    await this.seal()()
    const last = this.sealed.at(-1)
    if (last) await this.write(last)
  }

  /** Drops everything held: the device is being forgotten (its keys are deleted). */
  discard(): void {
    this.discarded = true
    clearTimeout(this.timer)
    this.open = new Map()
    this.sealed.length = 0
    this.recent = []
  }

  /**
   * Writes the batch, with any sealed before it and not written yet (their message failed to be
   * stored) in front: the store never goes back to an older value than it holds.
   */
  private async write(batch: Writes): Promise<void> {
    const upTo = this.sealed.indexOf(batch)
    if (upTo < 0) return // written already, with a later one
    const batches = this.sealed.slice(0, upTo + 1)
    const data: Record<string, Record<string, unknown>> = {}
    for (const writes of batches) {
      for (const [type, values] of writes) Object.assign((data[type] ??= {}), Object.fromEntries(values))
    }
    await this.store.set(data as SignalDataSet)
    this.sealed.splice(0, batches.length)
    if (this.reads > 0) this.recent.push(...batches)
  }
}
