// The WhatsApp message id of an idempotent send, chosen before the send and stored with its key
// (store.ts), then handed to the one place every message leaves through (session/outgoing/send.ts).
// A call that takes over a key its first call left pending (the process died mid-send, or the answer
// could not be stored) sends under the same id: WhatsApp and the recipient's devices take a message
// sent again under an id they have as that message (it is how Baileys answers retry receipts), so
// the retry cannot make a second one.
//
// The id travels in the call's async context rather than through every send router's arguments: the
// routers stay as they are, and a new send route cannot forget to pass it.
import { AsyncLocalStorage } from 'node:async_hooks'
import { randomBytes } from 'node:crypto'

/** A new message id, shaped like Baileys' own: "3EB0" and 18 hex digits. */
export function newMessageId(): string {
  return `3EB0${randomBytes(9).toString('hex').toUpperCase()}`
}

const pinned = new AsyncLocalStorage<{ id: string; taken: boolean }>()

/** Runs `call` with `id` as the id of the message it sends. */
export function withPinnedMessageId<T>(id: string, call: () => T): T {
  return pinned.run({ id, taken: false }, call)
}

/**
 * The id the running idempotent call chose for its message; undefined outside one. Given once: were
 * a call to send a second message, that one gets an id of its own, not a copy of the first's.
 */
export function takePinnedMessageId(): string | undefined {
  const pin = pinned.getStore()
  if (!pin || pin.taken) return undefined
  pin.taken = true
  return pin.id
}
