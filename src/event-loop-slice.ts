// One budget per turn of the event loop for work that would otherwise run back to back without
// giving it up: SQLite statements (better-sqlite3 is synchronous behind its promises), Baileys
// working through a queue of incoming stanzas (decryption is synchronous crypto behind promises
// too) and Baileys encrypting outgoing messages (among them hundreds of resend requests whose timers
// fire together). Each piece of such work waits for the slice first (waitForSlice): it goes on while
// this turn has spent less than SLICE_MS, else on a later turn (setImmediate: after the I/O waiting,
// an HTTP request or a webhook's answer, and timers).
//
// One budget for all, rather than a turn per piece: a turn per incoming stanza made a burst cost a
// loop iteration per message, and an iteration under a storm is all the other work of that turn,
// so a burst went at a few dozen messages a second (issue 18, storm budget). Bounded by the slice,
// a turn stays short whoever does the work, and a burst goes as fast as the slices allow.
import { performance } from 'node:perf_hooks'

/** How long such work may run in one turn of the event loop before it waits for the next. */
export const SLICE_MS = 8

/** When this turn's first piece of work ran; reset by the turn's check phase. */
let sliceStart: number | undefined

/** Whether this turn has spent its slice; the turn's first ask starts it. */
export function sliceSpent(): boolean {
  const now = performance.now()
  if (sliceStart === undefined) {
    sliceStart = now
    // The slice ends with this turn of the loop (check phase), whoever yields or not.
    setImmediate(() => (sliceStart = undefined))
    return false
  }
  return now - sliceStart >= SLICE_MS
}

/** Pieces of work waiting for the slice, in the order they asked. */
const waiting: Array<() => void> = []
let releasing = false

/**
 * Resolves when the caller's next piece of work may run: in the order asked, one at a time, while
 * the turn has slice left. One at a time because many ask together (the resend requests of a batch
 * of undecryptable messages resume in the same turn): had each been told "go on" as it asked, all
 * would have been told so before any had run, and the turn would have held all their work.
 */
export function waitForSlice(): Promise<void> {
  return new Promise<void>((resolve) => {
    waiting.push(resolve)
    if (releasing) return
    releasing = true
    // After the caller has begun awaiting, so that its work is what runs before the next release.
    queueMicrotask(release)
  })
}

function release(): void {
  // Spent: the next waiter goes on a later turn (setImmediate: after the I/O waiting, and timers).
  if (sliceSpent()) return void setImmediate(release)
  const resolve = waiting.shift()
  if (resolve === undefined) {
    releasing = false
    return
  }
  resolve()
  // Queued behind the released caller's continuation: the next one goes once that has run, and
  // the slice then counts its work.
  queueMicrotask(release)
}
