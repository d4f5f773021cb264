// The floors: bare servers doing the same visible work as the service, measured in the same run
// so that every figure can be printed as a ratio (these machines are noisy; ratios travel, absolute
// numbers do not).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'
import express from 'express'
import { z } from 'zod'
import { messageTextSchema, phoneSchema } from '../src/routers/inputs.js'

export interface Floor {
  url: string
  close(): Promise<void>
}

async function listen(server: Server, port = 0): Promise<string> {
  server.keepAliveTimeout = 5_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve())
      server.closeAllConnections()
    })
}

let counter = 0
/** A message id shaped like Baileys' (3EB0 + 18 hex digits). */
export function fakeMessageId(): string {
  counter = (counter + 1) % 0xffffffff
  return `3EB0${counter.toString(16).toUpperCase().padStart(18, '0')}`
}

/** What the stubbed send and the bare Express floor answer: the shape of a real send result. */
export function fakeSend(): { messageID: string; timestamp: string } {
  return { messageID: fakeMessageId(), timestamp: new Date(Math.floor(Date.now() / 1000) * 1000).toISOString() }
}

/**
 * Bare Node `http`: GET /health and GET /api/status answer the same JSON as the service, serialised
 * per request (as the service does). Nothing else: no routing library, no validation.
 */
export async function startBareHttp(status: () => unknown, port = 0): Promise<Floor> {
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url?.split('?')[0]
    const body = path === '/health' ? JSON.stringify({ status: 'ok' }) : path === '/api/status' ? JSON.stringify(status()) : undefined
    if (body === undefined) {
      res.writeHead(404).end()
      return
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) })
    res.end(body)
  })
  const url = await listen(server, port)
  return { url, close: closer(server) }
}

/**
 * Bare Express: the same JSON body parser and the same zod input schema as POST /api/send/text,
 * answering the same shape ({status, messageID, timestamp}) without sending anything; GET
 * /api/status with the same JSON through res.json.
 */
export async function startBareExpress(status: () => unknown, port = 0): Promise<Floor> {
  const input = z.object({ phone: phoneSchema, message: messageTextSchema })
  const app = express()
  app.disable('x-powered-by')
  app.use(express.json({ limit: '25mb', type: ['application/json', 'application/*+json'] }))
  app.post('/api/send/text', (req, res) => {
    const parsed = input.safeParse(req.body)
    if (!parsed.success) {
      res.status(400).json({ error: 'invalid input', code: 'VALIDATION_ERROR', issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) })
      return
    }
    res.json({ status: 'sent', ...fakeSend() })
  })
  app.get('/api/status', (_req, res) => {
    res.json(status())
  })
  app.get('/health', (_req, res) => {
    res.json({ status: 'ok' })
  })
  const server = createServer(app)
  const url = await listen(server, port)
  return { url, close: closer(server) }
}

export interface FastReceiver extends Floor {
  /** Requests received so far. */
  readonly count: number
  /** Arrival time (performance.now()) of the delivery whose payload carries this message id. */
  arrivals: Map<string, number>
  /** Resolves once `n` requests have arrived (in all), or fails after `timeoutMs`. */
  waitForCount(n: number, timeoutMs?: number): Promise<void>
  /** Resolves with the arrival time of the delivery for this message id. */
  waitForMessage(messageId: string, timeoutMs?: number): Promise<number>
  /** Resolves once the deliveries of all these message ids have arrived. */
  waitForMessages(messageIds: Iterable<string>, timeoutMs?: number): Promise<void>
  /** The body of the last request, as text. */
  readonly lastBody: string
  reset(): void
}

/**
 * A webhook receiver that answers 200 at once. It notes when each delivery arrived (the moment its
 * body has been read), keyed by the message id in the payload when it has one.
 */
export async function startFastReceiver(): Promise<FastReceiver> {
  let count = 0
  let lastBody = ''
  const arrivals = new Map<string, number>()
  const waiters = new Set<() => void>()
  const messageId = /"messageID":"([^"]+)"/
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const at = performance.now()
      count++
      lastBody = Buffer.concat(chunks).toString('utf8')
      const id = messageId.exec(lastBody)?.[1]
      if (id !== undefined) arrivals.set(id, at)
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 0 })
      res.end()
      for (const wake of waiters) wake()
    })
  })
  const url = `${await listen(server)}/hook`
  const wait = <T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> => {
    const now = probe()
    if (now !== undefined) return Promise.resolve(now)
    return new Promise((resolve, reject) => {
      const check = () => {
        const value = probe()
        if (value === undefined) return
        done()
        resolve(value)
      }
      const timer = setTimeout(() => {
        done()
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what} (${count} deliveries so far)`))
      }, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        waiters.delete(check)
      }
      waiters.add(check)
    })
  }
  return {
    url,
    get count() {
      return count
    },
    arrivals,
    waitForCount: (n, timeoutMs = 60_000) => wait(() => (count >= n ? true : undefined), timeoutMs, `${n} deliveries`).then(() => {}),
    waitForMessage: (id, timeoutMs = 10_000) => wait(() => arrivals.get(id), timeoutMs, `the delivery of ${id}`),
    waitForMessages(ids, timeoutMs = 120_000) {
      const missing = new Set(ids)
      return wait(
        () => {
          for (const id of missing) {
            if (!arrivals.has(id)) return undefined
            missing.delete(id)
          }
          return true
        },
        timeoutMs,
        `${missing.size} more deliveries`,
      ).then(() => {})
    },
    get lastBody() {
      return lastBody
    },
    reset() {
      count = 0
      arrivals.clear()
    },
    close: closer(server),
  }
}
