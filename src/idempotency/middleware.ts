// The step every send marked `idempotent` goes through (wired in src/trpc.ts): find the caller's
// key (REST: the Idempotency-Key header; tRPC: the `idempotencyKey` input field), then either run
// the send once and store its answer, or answer what the first call with that key answered.
import { validationError } from '../errors.js'
import { requestHash } from './request-hash.js'
import type { Logger } from '../logger.js'
import { withPinnedMessageId } from './pinned-id.js'
import { KEY_PATTERN, replay, type IdempotencyStore } from './store.js'

const KEY_RULE = '1 to 255 printable ASCII characters without spaces (a UUID is a good choice)'

/** The caller's key, checked: the header of a REST call, else the `idempotencyKey` field. */
export function idempotencyKeyOf(ctx: { idempotencyKey?: string | undefined }, raw: unknown): string | undefined {
  if (ctx.idempotencyKey !== undefined) {
    if (!KEY_PATTERN.test(ctx.idempotencyKey)) throw validationError([{ path: 'Idempotency-Key', message: `expected ${KEY_RULE}` }])
    return ctx.idempotencyKey
  }
  const field = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>).idempotencyKey : undefined
  if (field === undefined) return undefined
  if (typeof field !== 'string' || !KEY_PATTERN.test(field)) throw validationError([{ path: 'idempotencyKey', message: `expected ${KEY_RULE}` }])
  return field
}

type Result = { ok: true; data: unknown } | { ok: false; error: unknown }

/**
 * Runs `next` once per session and key; a repeat gets `replayed`, the first call's answer. `next`
 * runs with the message id the key holds (pinned-id.ts), so whatever it sends goes out under it.
 */
export async function runIdempotent<R extends Result>(
  store: IdempotencyStore,
  call: { session: string; key: string; path: string; input: unknown; log: Logger },
  next: () => Promise<R>,
): Promise<{ result: R } | { replayed: unknown }> {
  const { session, key, log } = call
  const claim = await store.claim(session, key, requestHash(call.path, call.input))
  if (claim.kind === 'replay') return { replayed: replay(claim.stored) }
  // Not recording the answer loses no message: the key stays pending, and the next call with it
  // sends again under the same id. So the caller gets the send's own answer, not the store's error.
  const unrecorded = (error: unknown) => log.warn({ err: error, session, idempotencyKey: key }, 'the answer of an idempotent send could not be stored: a retry with its key sends again under the same message id')
  try {
    let result: R
    try {
      result = await withPinnedMessageId(claim.messageId, next)
    } catch (error) {
      await store.failed(session, key, error).catch(unrecorded)
      throw error
    }
    if (result.ok) await store.succeeded(session, key, result.data).catch(unrecorded)
    else await store.failed(session, key, result.error).catch(unrecorded)
    return { result }
  } finally {
    store.settle(session, key)
  }
}
