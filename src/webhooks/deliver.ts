// One HTTP attempt at a delivery: the exact payload bytes, the wsgo headers and signatures, a timeout,
// and the answer sorted into what the worker does next (done, retry, give the delivery up as dead,
// turn the webhook off, or leave it for later because the service is stopping).
import { createHmac } from 'node:crypto'
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http'
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https'
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
  /**
   * Any other answer, a network error or a timeout: retried later. `retryAfterMs`: how long a 429
   * or 503 asked to be left alone (its Retry-After header), if it said. `refused`: the receiver
   * refused this request for good (see isRefusal); after a few such answers the delivery is dead.
   */
  | { outcome: 'failed'; status: number | null; error: string; retryAfterMs?: number; refused?: true }
  | { outcome: 'aborted'; error: string }

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the X-Wsgo-Signature value. */
export function signatureOf(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
}

/**
 * `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, the X-Wsgo-Signature-V2 value (the
 * scheme of Stripe and Slack). X-Wsgo-Signature signs the body alone, so a captured request stays
 * valid forever; this one signs the time of the attempt with it, so a receiver that refuses a `t`
 * too far from its clock refuses replays. Each attempt is signed afresh with its own time.
 */
export function timedSignatureOf(secret: string, body: string, timestamp: number): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`
}

export function deliveryHeaders(attempt: Pick<Attempt, 'deliveryId' | 'event' | 'payload' | 'secret'>, now = Date.now()): Record<string, string> {
  const timestamp = Math.floor(now / 1000)
  const headers: Record<string, string> = {
    'Content-Type': 'application/json',
    'User-Agent': USER_AGENT,
    'X-Wsgo-Event': attempt.event,
    'X-Wsgo-Delivery': attempt.deliveryId,
    'X-Wsgo-Timestamp': String(timestamp),
  }
  if (attempt.secret !== undefined) {
    headers['X-Wsgo-Signature'] = signatureOf(attempt.secret, attempt.payload)
    headers['X-Wsgo-Signature-V2'] = timedSignatureOf(attempt.secret, attempt.payload, timestamp)
  }
  return headers
}

/**
 * A 4xx that says "this request will never be accepted", as opposed to "not now": 408 (timeout),
 * 409 (conflict), 425 (too early) and 429 (too many requests) are worth retrying; 410 turns the
 * webhook off (worker.ts).
 */
export function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && ![408, 409, 410, 425, 429].includes(status)
}

const TIMEOUT = Symbol('timeout')
const STOPPED = Symbol('stopped')

export async function attemptDelivery(attempt: Attempt): Promise<AttemptResult> {
  // One controller carries both reasons to give up: the timeout and the worker stopping.
  const controller = new AbortController()
  const clock = receiverClock(attempt.timeoutMs, () => controller.abort(TIMEOUT))
  const stop = () => controller.abort(STOPPED)
  if (attempt.signal?.aborted) stop()
  attempt.signal?.addEventListener('abort', stop, { once: true })
  try {
    const { status, location, retryAfter, text } = await post(attempt, controller.signal, clock.restart)
    if (status >= 200 && status < 300) return { outcome: 'delivered', status }
    if (status === 410) return { outcome: 'gone', status, error: `HTTP 410 Gone${excerpt(text)}: the receiver asked not to be called again` }
    if (status >= 300 && status < 400) {
      return { outcome: 'failed', status, error: `HTTP ${status} redirect${location ? ` to ${location}` : ''} not followed: set the final URL as the webhook` }
    }
    const failed = { outcome: 'failed', status, error: `HTTP ${status}${excerpt(text)}`, ...(isRefusal(status) && { refused: true as const }) } as const
    const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(retryAfter) : undefined
    return retryAfterMs === undefined ? failed : { ...failed, retryAfterMs }
  } catch (error) {
    if (controller.signal.reason === STOPPED) return { outcome: 'aborted', error: 'interrupted: the service stopped' }
    if (controller.signal.reason === TIMEOUT) return { outcome: 'failed', status: null, error: `timed out after ${attempt.timeoutMs} ms` }
    return { outcome: 'failed', status: null, error: networkError(error) }
  } finally {
    clock.stop()
    attempt.signal?.removeEventListener('abort', stop)
  }
}

/**
 * The attempt's timeout, measuring the receiver rather than this process. It runs from the start
 * (connecting and writing count, once) and starts again when the request has been handed to the
 * socket, so the receiver gets the whole timeout from the moment it can have the request. When it
 * runs out, an answer that already arrived is read first: the timer fires in the event loop's timers
 * phase, before sockets are read, so after a stall of this process (a burst of synchronous work
 * longer than the timeout) a receiver that answered in a millisecond would otherwise be timed out
 * and sent the delivery again (issue 18 #2). `expire` then runs in the check phase, after the poll.
 */
function receiverClock(timeoutMs: number, expire: () => void): { restart(): void; stop(): void } {
  let timer: NodeJS.Timeout | undefined
  let grace: NodeJS.Immediate | undefined
  const restart = () => {
    clearTimeout(timer)
    timer = setTimeout(() => (grace = setImmediate(expire)), timeoutMs)
  }
  restart()
  return {
    restart,
    stop() {
      clearTimeout(timer)
      clearImmediate(grace)
    },
  }
}

interface Answer {
  status: number
  location: string | undefined
  retryAfter: string | undefined
  /** The first KB of the answer's body. */
  text: string
}

// Connections to receivers stay open between deliveries. Node's agent drops an idle connection
// before the receiver's announced Keep-Alive timeout, so a reused connection is rarely one the
// receiver is closing.
const agents = { 'http:': new HttpAgent({ keepAlive: true }), 'https:': new HttpsAgent({ keepAlive: true }) }

/**
 * POSTs the payload with node:http(s) rather than fetch: no Request, Response or web streams per
 * delivery, which made fetch the worker's costliest step on a fast receiver. Like fetch with
 * `redirect: 'manual'`, a redirect is an answer, not followed. Rejects on network errors and when
 * `signal` aborts before the answer's status arrived; after that, the status decides. `written` is
 * called once the request has been handed to the socket.
 */
function post(attempt: Attempt, signal: AbortSignal, written: () => void): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const url = new URL(attempt.url)
    const send = url.protocol === 'https:' ? httpsRequest : url.protocol === 'http:' ? httpRequest : undefined
    if (!send) throw new Error(`unsupported URL scheme ${url.protocol}`)
    const headers = { ...deliveryHeaders(attempt), 'Content-Length': String(Buffer.byteLength(attempt.payload)) }
    let answered = false
    const request = send(url, { method: 'POST', headers, agent: agents[url.protocol as keyof typeof agents], signal }, (response) => {
      answered = true
      void readAnswer(response).then((text) => resolve({ status: response.statusCode ?? 0, location: response.headers.location, retryAfter: response.headers['retry-after'], text }))
    })
    // Once the status is in, an error (a timeout while reading the body, say) only cuts the body short.
    request.on('error', (error) => {
      if (!answered) reject(error)
    })
    // 'finish': the whole request is with the operating system, so with the receiver's side.
    request.once('finish', written)
    request.end(attempt.payload)
  })
}

/**
 * Reads the answer's body so the connection can be reused, keeping its first KB (a failure's text
 * explains it). A receiver that sends more than 64 KB gets its connection closed instead. Never
 * fails: cut off or timed out while reading, the status already says what happened.
 */
function readAnswer(response: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const kept: Buffer[] = []
    let size = 0
    const done = () => resolve(Buffer.concat(kept).subarray(0, 1024).toString('utf8'))
    response.on('data', (chunk: Buffer) => {
      if (size < 1024) kept.push(chunk)
      size += chunk.byteLength
      if (size > 64 * 1024) response.destroy()
    })
    response.on('end', done)
    response.on('close', done)
    response.on('error', () => {}) // 'close' follows
  })
}

/**
 * A Retry-After value as a wait in ms: delay-seconds, or an HTTP date (RFC 9110, 10.2.3), from
 * `now`; undefined when it is neither.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  const text = value?.trim()
  if (!text) return undefined
  if (/^\d+$/.test(text)) return Number(text) * 1_000
  const at = Date.parse(text)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** The start of a receiver's answer, for lastError: `: <first 200 characters>`. */
function excerpt(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim()
  if (flat === '') return ''
  return `: ${flat.length > 200 ? `${flat.slice(0, 200)}...` : flat}`
}

/** `network error: <code>: <message>`, e.g. ECONNREFUSED; an error's cause is used when it has one. */
function networkError(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  if (!(cause instanceof Error)) return `network error: ${String(cause)}`
  const code = (cause as { code?: unknown }).code
  const message = cause.message || cause.name
  return `network error: ${typeof code === 'string' && !message.includes(code) ? `${code}: ` : ''}${message}`
}
