// One budget per turn of the event loop for work that would otherwise run back to back without
// giving it up: SQLite statements (better-sqlite3 is synchronous behind its promises) and Baileys
// working through a queue of incoming stanzas (decryption is synchronous crypto behind promises too).
// Each asks before its next piece: nothing to wait for while this turn has spent less than SLICE_MS
// on such work, else a promise of the next turn (setImmediate: after the I/O waiting, an HTTP
// request or a webhook's answer, and timers).
//
// One budget for both, rather than a turn per piece: a turn per incoming stanza made a burst cost a
// loop iteration per message, and an iteration under a storm is all the other work of that turn,
// so a burst went at a few dozen messages a second (issue 18, storm budget). Bounded by the slice,
// a turn stays short whoever does the work, and a burst goes as fast as the slices allow.
import { performance } from 'node:perf_hooks'

/** How long such work may run in one turn of the event loop before it waits for the next. */
export const SLICE_MS = 8

/** When this turn's first piece of work ran; reset by the turn's check phase. */
let sliceStart: number | undefined

/** Undefined: go on now. A promise: this turn's slice is spent, wait for the next turn. */
export function nextTurnIfSpent(): Promise<void> | undefined {
  const now = performance.now()
  if (sliceStart === undefined) {
    sliceStart = now
    // The slice ends with this turn of the loop (check phase), whoever yields or not.
    setImmediate(() => (sliceStart = undefined))
    return undefined
  }
  if (now - sliceStart < SLICE_MS) return undefined
  return new Promise<void>((resolve) => setImmediate(resolve))
}

/** For Baileys' stanza queue (scripts/patch-baileys.mjs asks this after every stanza). */
export const yieldIfSliceSpent = (): Promise<void> => nextTurnIfSpent() ?? Promise.resolve()
