// One HTTP attempt at a delivery: the exact payload bytes, the wsgo headers and signature, a timeout,
// and the answer sorted into what the worker does next (done, retry, turn the webhook off, or
// leave it for later because the service is stopping).
import { createHmac } from 'node:crypto'
import pkg from '../../package.json' with { type: 'json' }

export const USER_AGENT = `wsgo-ts/${pkg.version}`

export interface Attempt {
  url: string
  /** The outbox row's id: X-Wsgo-Delivery, the same on every attempt. */
  deliveryId: string
  event: string
  /** The exact JSON text `{event, data}` written with the event; sent byte for byte. */
  payload: string
  secret: string | undefined
  timeoutMs: number
  /** Aborted when the worker stops: the attempt ends as 'aborted' and is not counted. */
  signal?: AbortSignal
}

export type AttemptResult =
  | { outcome: 'delivered'; status: number }
  /** 410 Gone: the receiver asks not to be called again. */
  | { outcome: 'gone'; status: 410; error: string }
  /** Any other answer, a network error or a timeout: retried later. */
  | { outcome: 'failed'; status: number | null; error: string }
  | { outcome: 'aborted'; error: string }

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the X-Wsgo-Signature value. */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

export function deliveryHeaders(attempt: Pick<Attempt, 'deliveryId' | 'event' | 'payload' | 'secret'>): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    'X-Wsgo-Event': attempt.event,
    'X-Wsgo-Delivery': attempt.deliveryId,
  }
  if (attempt.secret !== undefined) headers['X-Wsgo-Signature'] = signatureOf(attempt.secret, attempt.payload)
  return headers
}

const TIMEOUT = Symbol('timeout')
const STOPPED = Symbol('stopped')

export async function attemptDelivery(attempt: Attempt): Promise<AttemptResult> {
  // One controller carries both reasons to give up: the timeout and the worker stopping.
  const controller = new AbortController()
  const timer = setTimeout(() => controller.abort(TIMEOUT), attempt.timeoutMs)
  const stop = () => controller.abort(STOPPED)
  if (attempt.signal?.aborted) stop()
  attempt.signal?.addEventListener('abort', stop, { once: true })
  try {
    const response = await fetch(attempt.url, {
      method: 'POST',
      headers: deliveryHeaders(attempt),
      body: attempt.payload,
      redirect: 'manual',
      signal: controller.signal,
    })
    const { status } = response
    const text = await readAnswer(response)
    if (status >= 200 && status < 300) return { outcome: 'delivered', status }
    if (status === 410) return { outcome: 'gone', status, error: `HTTP 410 Gone${excerpt(text)}: the receiver asked not to be called again` }
    if (status >= 300 && status < 400) {
      const location = response.headers.get('location')
      return { outcome: 'failed', status, error: `HTTP ${status} redirect${location ? ` to ${location}` : ''} not followed: set the final URL as the webhook` }
    }
    return { outcome: 'failed', status, error: `HTTP ${status}${excerpt(text)}` }
  } catch (error) {
    if (controller.signal.reason === STOPPED) return { outcome: 'aborted', error: 'interrupted: the service stopped' }
    if (controller.signal.reason === TIMEOUT) return { outcome: 'failed', status: null, error: `timed out after ${attempt.timeoutMs} ms` }
    return { outcome: 'failed', status: null, error: networkError(error) }
  } finally {
    clearTimeout(timer)
    attempt.signal?.removeEventListener('abort', stop)
  }
}

/**
 * Reads the answer's body so the connection can be reused, keeping its first KB (a failure's text
 * explains it). A receiver that sends more than 64 KB gets its connection closed instead.
 */
async function readAnswer(response: Response): Promise<string> {
  if (!response.body) return ''
  const reader = response.body.getReader()
  const kept: Uint8Array[] = []
  let size = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      if (size < 1024) kept.push(value)
      size += value.byteLength
      if (size > 64 * 1024) {
        await reader.cancel()
        break
      }
    }
  } catch {
    // Cut off or timed out while reading: the status already says what happened.
  }
  return Buffer.concat(kept).subarray(0, 1024).toString('utf8')
}

/** The start of a receiver's answer, for lastError: `: <first 200 characters>`. */
function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  if (flat === '') return ''
  return `: ${flat.length > 200 ? `${flat.slice(0, 200)}...` : flat}`
}

/** fetch() reports "fetch failed" and hides the useful part (ECONNREFUSED, ...) in its cause. */
function networkError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(cause instanceof Error)) return `network error: ${String(cause)}`
  const code = (cause as { code?: unknown }).code
  const message = cause.message || cause.name
  return `network error: ${typeof code === 'string' && !message.includes(code) ? `${code}: ` : ''}${message}`
}
