// A scriptable webhook receiver on a loopback port: records every request (raw body, headers, time),
// answers as told (status codes per request, delays), and can go down and come back on the same port.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedRequest {
  /** 0, 1, 2 ... in order of arrival (counted across downtimes). */
  index: number
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: Buffer
  text: string
  /** Arrival time (Date.now()). */
  at: number
  /** The status this request is (or was to be) answered with. */
  status: number
  /** When the answer was written; undefined while waiting or if the connection was cut first. */
  answeredAt: number | undefined
  /** The X-Wsgo-Delivery header. */
  deliveryId: string
  /** The X-Wsgo-Event header. */
  event: string
}

export interface Answer {
  status: number
  /** Wait this long before answering. */
  delayMs?: number
  /** Answer only once this settles (then after `delayMs`). */
  hold?: Promise<unknown>
  body?: string
  headers?: Record<string, string>
}

type Script = (request: ReceivedRequest) => Answer | number

export class Receiver {
  readonly requests: ReceivedRequest[] = []
  /** Answers used first, one per request, before `script`. */
  readonly answers: Array<Answer | number> = []
  /** How requests are answered once `answers` is empty: 200 by default. */
  script: Script = () => 200
  private server: Server | undefined
  private waiters = new Set<() => void>()
  /** Answers waiting for their delay: dropped when the receiver goes down. */
  private delayed = new Set<NodeJS.Timeout>()

  private constructor(public port: number) {}

  static async start(port = 0): Promise<Receiver> {
    const receiver = new Receiver(port)
    await receiver.up()
    return receiver
  }

  /** The webhook URL (path /hook). */
  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`
  }

  /** Starts listening (again) on the same port. */
  async up(): Promise<void> {
    if (this.server) return
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        const request: ReceivedRequest = {
          index: this.requests.length,
          method: req.method ?? '',
          path: req.url ?? '',
          headers: req.headers,
          body,
          text: body.toString('utf8'),
          at: Date.now(),
          status: 0,
          answeredAt: undefined,
          deliveryId: String(req.headers['x-wsgo-delivery'] ?? ''),
          event: String(req.headers['x-wsgo-event'] ?? ''),
        }
        const next = this.answers.shift() ?? this.script(request)
        const answer = typeof next === 'number' ? { status: next } : next
        request.status = answer.status
        this.requests.push(request)
        for (const wake of this.waiters) wake()
        const send = () => {
          if (res.destroyed) return
          res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers })
          res.end(answer.body ?? '', () => {
            request.answeredAt = Date.now()
            for (const wake of this.waiters) wake()
          })
        }
        const later = () => {
          if (!answer.delayMs) return send()
          const timer = setTimeout(() => {
            this.delayed.delete(timer)
            send()
          }, answer.delayMs)
          this.delayed.add(timer)
        }
        if (answer.hold) void answer.hold.then(later, later)
        else later()
      })
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.port, '127.0.0.1', () => {
        server.off('error', reject)
        resolve()
      })
    })
    this.port = (server.address() as AddressInfo).port
    this.server = server
  }

  /** Stops listening and cuts every open connection: the port refuses connections until up(). */
  async down(): Promise<void> {
    const server = this.server
    if (!server) return
    this.server = undefined
    for (const timer of this.delayed) clearTimeout(timer)
    this.delayed.clear()
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    await closed
  }

  close(): Promise<void> {
    return this.down()
  }

  /** Requests answered 2xx (the answer was written). */
  get delivered(): ReceivedRequest[] {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300 && r.answeredAt !== undefined)
  }

  /** Resolves once `condition` holds (checked at each request), or fails after `timeoutMs`. */
  waitFor(condition: (requests: ReceivedRequest[]) => boolean, timeoutMs = 5_000, what = 'the receiver to see the expected requests'): Promise<void> {
    if (condition(this.requests)) return Promise.resolve()
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition(this.requests)) return
        cleanup()
        resolve()
      }
      const timer = setTimeout(() => {
        cleanup()
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${this.requests.length} requests so far)`))
      }, timeoutMs)
      const cleanup = () => {
        clearTimeout(timer)
        this.waiters.delete(check)
      }
      this.waiters.add(check)
    })
  }
}

/** Polls `probe` every `everyMs` until it returns a truthy value, or fails after `timeoutMs`. */
export async function until<T>(probe: () => Promise<T> | T, what: string, timeoutMs = 5_000, everyMs = 10): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value) return value as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}
