// Webhooks from the durable outbox, against a real receiver on loopback: exact payload and headers,
// signatures, retries with backoff, outages (in order, nothing lost), timeouts, 410, redirects,
// giving up, the deliveries and test routes (REST and tRPC), and a graceful stop.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import { EventLog } from '../src/events/log.js'
import { createLogger } from '../src/logger.js'
import { openClient, type Db } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { retryDelay } from '../src/backoff.js'
import { loadConfig } from '../src/config.js'
import { SessionWebhooks } from '../src/webhooks/session-webhooks.js'
import type { WebhookWorker, WorkerOptions } from '../src/webhooks/worker.js'
import { Outbox, pendingTarget, type Delivery } from '../src/webhooks/outbox.js'
import { until, type ReceivedRequest } from './support/receiver.js'
import { startTestService, tempDir, type TestService } from './support/service.js'
import { assertRefused, call, FAST_RETRIES, webhookFixtures } from './support/webhook-fixtures.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'
import { sampleMessage } from './support/fixtures.js'

const version = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

// Everything a test starts is closed after it, whatever happened.
const { receiver, service, cleanup } = webhookFixtures()

const post = (svc: TestService, route: string, body: unknown) => call(svc, 'POST', route, body)
const get = (svc: TestService, route: string) => call(svc, 'GET', route)

/** Sets the webhook through REST; only `message` events unless told (the WhatsApp session records its own). */
async function setWebhook(svc: TestService, body: Record<string, unknown>): Promise<void> {
  const res = await post(svc, '/api/webhook', { events: ['message'], ...body })
  assert.equal(res.status, 200, JSON.stringify(res.body))
}

async function deliveries(svc: TestService, query = ''): Promise<Delivery[]> {
  const res = await get(svc, `/api/webhook/deliveries${query}`)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body as Delivery[]
}

async function deliveryRow(svc: TestService, id: string) {
  return svc.db.webhookDelivery.findUniqueOrThrow({ where: { id } })
}

/** The service's `default` session (the one the contract's REST paths act on). */
function defaultSession(svc: TestService) {
  return svc.services.sessions.get('default')
}

/** Waits until a delivery reaches a final state, and returns it. */
function settled(svc: TestService, id: string, status: 'delivered' | 'failed', timeoutMs = 5_000) {
  return until(async () => {
    const row = await deliveryRow(svc, id)
    return row.status === status ? row : undefined
  }, `delivery ${id} to be ${status}`, timeoutMs)
}

async function record(svc: TestService, i: number | string): Promise<string> {
  const recorded = await (await defaultSession(svc)).events.record('message', sampleMessage(i))
  assert.ok(recorded.deliveryId, 'the event was queued for the webhook')
  return recorded.deliveryId
}

describe('retry delays', () => {
  const options = { minMs: 1_000, maxMs: 600_000 }
  test('double from the floor, with up to 20% jitter on top', () => {
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(n, options, () => 0)), [1_000, 2_000, 4_000, 8_000])
    assert.deepEqual([1, 2, 3, 4].map((n) => retryDelay(n, options, () => 1)), [1_200, 2_400, 4_800, 9_600])
    assert.equal(retryDelay(3, options, () => 0.5), 4_400)
  })

  test('never below the floor, never above the cap, jitter kept inside its window', () => {
    for (let failures = 0; failures <= 100; failures++) {
      const nominal = Math.min(600_000, 1_000 * 2 ** Math.max(0, failures - 1))
      for (const r of [0, 0.001, 0.25, 0.5, 0.75, 0.999, 1]) {
        const delay = retryDelay(failures, options, () => r)
        assert.ok(delay >= 1_000, `failures=${failures} r=${r}: ${delay} is below the floor`)
        assert.ok(delay <= 600_000, `failures=${failures} r=${r}: ${delay} is above the cap`)
        assert.ok(delay >= nominal - nominal * 0.2 && delay <= nominal * 1.2, `failures=${failures} r=${r}: ${delay} is outside the jitter window of ${nominal}`)
      }
    }
    // At the cap the jitter spreads retries below it instead of stacking them on it.
    assert.equal(retryDelay(30, options, () => 0), 480_000)
    assert.equal(retryDelay(30, options, () => 1), 600_000)
    // With Math.random: uniform over the window.
    const samples = Array.from({ length: 2_000 }, () => retryDelay(2, options))
    assert.ok(Math.min(...samples) >= 2_000 && Math.max(...samples) <= 2_400)
    assert.ok(Math.min(...samples) < 2_050 && Math.max(...samples) > 2_350, 'the jitter uses its whole window')
  })

  test('a cap below the floor gives the floor', () => {
    assert.equal(retryDelay(5, { minMs: 500, maxMs: 100 }, () => 1), 500)
  })
})

describe('the attempt timeout measures the receiver', () => {
  // A receiver on its own thread, so that it answers while this thread is held up. It answers a
  // request only when told to, then sets `answered` in shared memory.
  const receiverSource = `
    const { parentPort, workerData } = require('node:worker_threads')
    const { createServer } = require('node:http')
    const flag = new Int32Array(workerData)
    let waiting
    const server = createServer((req, res) => {
      req.resume()
      req.on('end', () => {
        waiting = () => res.end('', () => { Atomics.store(flag, 0, 1); Atomics.notify(flag, 0) })
        parentPort.postMessage('received')
      })
    })
    parentPort.on('message', () => waiting())
    server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port))
  `

  test('an answer that arrived while this process was stalled past the timeout is an answer, not a timeout', async () => {
    const { Worker } = await import('node:worker_threads')
    const { attemptDelivery } = await import('../src/webhooks/deliver.js')
    const shared = new SharedArrayBuffer(4)
    const flag = new Int32Array(shared)
    const worker = new Worker(receiverSource, { eval: true, workerData: shared })
    cleanup(() => worker.terminate())
    const messages: unknown[] = []
    let wake: (() => void) | undefined
    worker.on('message', (message) => {
      messages.push(message)
      wake?.()
    })
    const next = async () => {
      while (messages.length === 0) await new Promise<void>((resolve) => (wake = resolve))
      return messages.shift()
    }
    const port = (await next()) as number
    const timeoutMs = 100
    const attempt = attemptDelivery({ url: `http://127.0.0.1:${port}/hook`, deliveryId: 'd-1', event: 'message', payload: '{}', secret: undefined, timeoutMs })
    assert.equal(await next(), 'received')
    // The receiver answers now, at once; this thread meanwhile is busy (as during a burst of
    // synchronous work) until the answer is written and well past the timeout.
    const stalled = performance.now()
    worker.postMessage('answer')
    // 'not-equal' means the flag was already set: the receiver answered before this thread waited.
    assert.notEqual(Atomics.wait(flag, 0, 0, 10_000), 'timed-out', 'the receiver answered')
    while (performance.now() - stalled < timeoutMs * 3) {
      // held up
    }
    assert.deepEqual(await attempt, { outcome: 'delivered', status: 200 })
  })

  test('a receiver that does not answer still times out', async () => {
    const { Worker } = await import('node:worker_threads')
    const { attemptDelivery } = await import('../src/webhooks/deliver.js')
    const worker = new Worker(receiverSource, { eval: true, workerData: new SharedArrayBuffer(4) })
    cleanup(() => worker.terminate())
    const port = await new Promise<number>((resolve) => worker.once('message', resolve))
    const result = await attemptDelivery({ url: `http://127.0.0.1:${port}/hook`, deliveryId: 'd-2', event: 'message', payload: '{}', secret: undefined, timeoutMs: 100 })
    assert.deepEqual(result, { outcome: 'failed', status: null, error: 'timed out after 100 ms' })
  })
})

describe('webhook delivery', () => {
  test('the body is the exact {event, data} JSON, with the wsgo headers and a verifiable signature', async () => {
    const hook = await receiver()
    const svc = await service()
    const SECRET = 'whsec-test-0123456789'
    await setWebhook(svc, { url: hook.url, secret: SECRET })

    const id = await record(svc, 1)
    await hook.waitFor((r) => r.length === 1)
    const [request] = hook.requests
    assert.ok(request)
    assert.equal(request.method, 'POST')
    assert.equal(request.path, '/hook')
    assert.equal(
      request.text,
      '{"event":"message","data":{"from":"15550002222@s.whatsapp.net","chat":"15550002222@s.whatsapp.net","messageID":"M1","pushName":"Alice","timestamp":"2026-06-09T12:00:00.000Z","text":"hello 1","isGroup":false}}',
    )
    assert.equal(request.headers['content-type'], 'application/json')
    assert.equal(request.headers['content-length'], String(request.body.length))
    assert.equal(request.headers['user-agent'], `wsgo-ts/${version}`)
    assert.equal(request.headers['x-wsgo-event'], 'message')
    assert.equal(request.headers['x-wsgo-delivery'], id)
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
    // What a receiver does: HMAC the raw bytes with the shared secret, compare in constant time.
    const expected = Buffer.from(`sha256=${createHmac('sha256', SECRET).update(request.body).digest('hex')}`)
    const presented = Buffer.from(String(request.headers['x-wsgo-signature']))
    assert.equal(presented.length, expected.length)
    assert.ok(timingSafeEqual(presented, expected))
    assert.match(String(request.headers['x-wsgo-signature']), /^sha256=[0-9a-f]{64}$/)

    const row = await settled(svc, id, 'delivered')
    assert.equal(row.attempts, 1)
    assert.equal(row.lastStatus, 200)
    assert.equal(row.lastError, null)
    assert.ok(row.deliveredAt && row.deliveredAt >= row.createdAt)

    // Without a secret there is no signature header.
    await setWebhook(svc, { url: hook.url, secret: null })
    await record(svc, 2)
    await hook.waitFor((r) => r.length === 2)
    assert.equal(hook.requests[1]!.headers['x-wsgo-signature'], undefined)
    assert.equal(JSON.parse(hook.requests[1]!.text).data.messageID, 'M2')
  })

  test('WEBHOOK_SECRET signs when no secret was set through the API', async () => {
    const hook = await receiver()
    const svc = await service({ WEBHOOK_SECRET: 'from-the-env' })
    await setWebhook(svc, { url: hook.url })
    assert.equal((await get(svc, '/api/webhook')).body.secretSet, true)
    await record(svc, 1)
    await hook.waitFor((r) => r.length === 1)
    const request = hook.requests[0]!
    assert.equal(request.headers['x-wsgo-signature'], `sha256=${createHmac('sha256', 'from-the-env').update(request.text).digest('hex')}`)
  })

  test('a new event reaches the receiver at once, without waiting for a poll', async () => {
    const hook = await receiver()
    const svc = await service()
    await setWebhook(svc, { url: hook.url })
    const latencies: number[] = []
    for (let i = 0; i < 30; i++) {
      const started = Date.now()
      await record(svc, i)
      await hook.waitFor((r) => r.length === i + 1)
      latencies.push(hook.requests[i]!.at - started)
    }
    latencies.sort((a, b) => a - b)
    // The poll is 1 s: anything near it would mean the notification did not wake the worker.
    assert.ok(latencies.at(-1)! < 500, `slowest ${latencies.at(-1)} ms`)
    console.log(`# event -> receiver on loopback: median ${latencies[15]} ms, max ${latencies.at(-1)} ms`)
  })

  test('a receiver answering 500 three times, then 200, gets the event once successfully after 4 attempts', async () => {
    const hook = await receiver()
    const svc = await service()
    await setWebhook(svc, { url: hook.url })
    hook.answers.push({ status: 500, body: 'try again later' }, 500, 500)

    const id = await record(svc, 1)
    const row = await settled(svc, id, 'delivered')
    assert.equal(row.attempts, 4)
    assert.equal(row.lastStatus, 200)
    assert.equal(row.lastError, 'HTTP 500', 'the last error is kept after the success')
    assert.deepEqual(hook.requests.map((r) => r.status), [500, 500, 500, 200])
    assert.equal(hook.delivered.length, 1)
    assert.ok(hook.requests.every((r) => r.deliveryId === id && r.text === hook.requests[0]!.text), 'every attempt is the same delivery, byte for byte')
    // Exponential backoff from the 20 ms floor: at least 20, 40 ms, then 64 ms (at the 80 ms cap the
    // 20 % jitter window sits below the cap: 64-80 ms).
    const gaps = hook.requests.slice(1).map((r, i) => r.at - hook.requests[i]!.at)
    gaps.forEach((gap, i) => assert.ok(gap >= [20, 40, 64][i]! - 2, `gap ${i + 1} was ${gap} ms`))
    // A success is no failure: nothing was reported.
    assert.deepEqual((await get(svc, '/api/events?type=webhook_failed')).body, [])
  })

  test('the first error is described: the body excerpt of a failed answer', async () => {
    const hook = await receiver()
    const svc = await service()
    await setWebhook(svc, { url: hook.url })
    hook.answers.push({ status: 503, body: '  maintenance\n until 5 ' })
    const id = await record(svc, 1)
    await hook.waitFor((r) => r.length === 1)
    const row = await until(async () => {
      const current = await deliveryRow(svc, id)
      return current.attempts === 1 || current.status === 'delivered' ? current : undefined
    }, 'the first attempt to settle')
    // Either still waiting for its retry or already delivered: the error text is the same.
    assert.equal(row.lastError, 'HTTP 503: maintenance until 5')
    await settled(svc, id, 'delivered')
  })

  test('several deliveries are in flight at once, never more than WEBHOOK_CONCURRENCY', async () => {
    const hook = await receiver()
    hook.script = () => ({ status: 200, delayMs: 60 })
    const svc = await service({ WEBHOOK_CONCURRENCY: '4' })
    await setWebhook(svc, { url: hook.url })
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push(await record(svc, i))
    await hook.waitFor(() => hook.delivered.length === 20, 5_000)
    const overlap = (request: ReceivedRequest) => hook.requests.filter((other) => other.at <= request.at && (other.answeredAt ?? Infinity) > request.at).length
    assert.equal(Math.max(...hook.requests.map(overlap)), 4)
    assert.deepEqual(new Set(hook.requests.map((r) => r.deliveryId)), new Set(ids))
    assert.equal(hook.requests.length, 20)
  })

  test('a receiver down for a while gets everything when it is back, in order, nothing missing', async () => {
    const hook = await receiver()
    const svc = await service({ WEBHOOK_CONCURRENCY: '1' })
    await setWebhook(svc, { url: hook.url })
    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push(await record(svc, i))
    await hook.waitFor(() => hook.delivered.length === 10)

    await hook.down()
    for (let i = 10; i < 30; i++) ids.push(await record(svc, i))
    // Connections are refused; only the oldest pending delivery is retried meanwhile.
    const head = await until(async () => {
      const row = await deliveryRow(svc, ids[10]!)
      return row.attempts >= 3 ? row : undefined
    }, 'three failed attempts of the oldest pending delivery')
    assert.equal(head.status === 'pending' || head.status === 'delivering', true)
    assert.match(head.lastError ?? '', /^network error: .*ECONNREFUSED/)
    assert.equal(head.lastStatus, null)
    const others = await svc.db.webhookDelivery.findMany({ where: { id: { in: ids.slice(11) } } })
    assert.deepEqual(others.map((row) => row.attempts), Array(19).fill(0), 'nothing else was sent to the down receiver')
    assert.equal((await defaultSession(svc)).webhooks.first!.worker.backingOff, true)

    await hook.up()
    for (let i = 30; i < 35; i++) ids.push(await record(svc, i))
    await hook.waitFor(() => hook.delivered.length === 35, 5_000)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), ids, 'every event once, in the order it happened')
    assert.deepEqual(hook.delivered.map((r) => JSON.parse(r.text).data.messageID), ids.map((_, i) => `M${i}`))
    await until(async () => (await get(svc, '/api/webhook')).body.delivered === 35, 'the counters to catch up')
    const state = (await get(svc, '/api/webhook')).body
    assert.deepEqual({ pending: state.pending, delivered: state.delivered, failed: state.failed }, { pending: 0, delivered: 35, failed: 0 })
    assert.equal((await defaultSession(svc)).webhooks.first!.worker.backingOff, false)
  })

  test('while a receiver fails, only the oldest delivery probes it; its success lets the backlog through at full concurrency', async () => {
    const hook = await receiver()
    let failing = true
    hook.script = () => (failing ? 503 : 200)
    const svc = await service()
    await setWebhook(svc, { url: hook.url })

    const first = await record(svc, 0)
    await until(async () => (await deliveryRow(svc, first)).attempts === 1, 'the first failure')
    const ids = [first]
    for (let i = 1; i < 40; i++) ids.push(await record(svc, i))
    await until(async () => (await deliveryRow(svc, first)).attempts >= 4, 'more probes')
    assert.ok(hook.requests.every((r) => r.deliveryId === first && r.status === 503), 'only the oldest delivery was sent during the outage')
    const probes = hook.requests.length

    failing = false
    hook.script = () => ({ status: 200, delayMs: 20 })
    await hook.waitFor(() => hook.delivered.length === 40, 5_000)
    const afterOutage = hook.requests.slice(probes)
    assert.equal(afterOutage[0]!.deliveryId, first, 'the probe is the oldest delivery')
    assert.deepEqual(afterOutage.map((r) => r.deliveryId).sort(), [...ids].sort(), 'each delivered once, none missing')
    // The probe was alone; the backlog then went out 8 at a time (WEBHOOK_CONCURRENCY's default).
    const overlap = (request: ReceivedRequest) => afterOutage.filter((other) => other.at <= request.at && (other.answeredAt ?? Infinity) > request.at).length
    assert.equal(overlap(afterOutage[0]!), 1)
    assert.equal(Math.max(...afterOutage.map(overlap)), 8)
  })

  test('a receiver slower than the timeout is retried, and the timeout is recorded', async () => {
    const hook = await receiver()
    hook.answers.push({ status: 200, delayMs: 400 })
    const svc = await service({ WEBHOOK_TIMEOUT_MS: '100' })
    await setWebhook(svc, { url: hook.url })
    const started = Date.now()
    const id = await record(svc, 1)
    const row = await settled(svc, id, 'delivered')
    assert.equal(row.attempts, 2)
    assert.equal(row.lastError, 'timed out after 100 ms')
    assert.equal(row.lastStatus, 200)
    assert.deepEqual(hook.requests.map((r) => r.deliveryId), [id, id])
    assert.ok(hook.requests[1]!.at - started >= 100 + 20, 'the retry came after the timeout and the backoff')
  })

  test('a redirect is not followed: it is a failure to retry, with a clear error', async () => {
    const hook = await receiver()
    hook.answers.push({ status: 302, headers: { location: `${hook.url}/moved` } })
    const svc = await service()
    await setWebhook(svc, { url: hook.url })
    const id = await record(svc, 1)
    const row = await settled(svc, id, 'delivered')
    assert.equal(row.attempts, 2)
    assert.equal(row.lastError, `HTTP 302 redirect to ${hook.url}/moved not followed: set the final URL as the webhook`)
    assert.deepEqual(hook.requests.map((r) => r.path), ['/hook', '/hook'])
  })

  test('410 Gone turns the webhook off but keeps the backlog, which a new URL receives oldest first with the same ids', async () => {
    const hook = await receiver()
    hook.answers.push({ status: 410, body: 'unsubscribed', delayMs: 50 })
    const svc = await service({ WEBHOOK_CONCURRENCY: '1' })
    await setWebhook(svc, { url: hook.url })
    const gone = await record(svc, 1)
    const queued = [await record(svc, 2), await record(svc, 3)]

    await until(async () => (await get(svc, '/api/webhook')).body.url === null, 'the webhook to be turned off')
    const row = await until(async () => {
      const r = await deliveryRow(svc, gone)
      return r.attempts === 1 && r.status === 'pending' ? r : undefined
    }, 'the refused delivery to be settled')
    assert.equal(row.lastStatus, 410)
    assert.equal(row.lastError, 'HTTP 410 Gone: unsubscribed: the receiver asked not to be called again')
    // Nothing was given up: the refused delivery and what waited behind it are all kept.
    for (const id of queued) assert.deepEqual(await deliveryRow(svc, id).then((r) => [r.status, r.attempts]), ['pending', 0])
    assert.deepEqual((await get(svc, '/api/webhook')).body, { url: null, events: ['message'], secretSet: false, pending: 3, delivered: 0, failed: 0, dead: 0 })
    assert.deepEqual((await get(svc, '/api/events?type=webhook_failed')).body, [])
    // While the webhook is off, new events are not queued, and nothing is sent or dropped.
    assert.equal((await (await defaultSession(svc)).events.record('message', sampleMessage(4))).deliveryId, undefined)
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(hook.requests.length, 1)
    assert.equal((await get(svc, '/api/webhook')).body.pending, 3)

    // A URL set again gets the backlog, the refused delivery first, with the same delivery ids.
    await setWebhook(svc, { url: hook.url })
    await hook.waitFor(() => hook.delivered.length === 3)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), [gone, ...queued])
    await until(async () => (await get(svc, '/api/webhook')).body.delivered === 3, 'the counters')
    assert.deepEqual((await get(svc, '/api/webhook')).body, { url: hook.url, events: ['message'], secretSet: false, pending: 0, delivered: 3, failed: 0, dead: 0 })
    assert.equal((await deliveryRow(svc, gone)).attempts, 2)
  })

  test('clearing the URL gives up what is pending, also a backlog a 410 kept', async () => {
    const hook = await receiver()
    hook.script = () => 503
    const svc = await service()
    await setWebhook(svc, { url: hook.url })
    const waiting = [await record(svc, 1), await record(svc, 2)]
    await until(async () => (await deliveryRow(svc, waiting[0]!)).attempts >= 1, 'a failed attempt')
    await setWebhook(svc, { url: null })
    for (const id of waiting) {
      const dropped = await settled(svc, id, 'failed')
      assert.equal(dropped.lastError, 'not delivered: the webhook was turned off')
    }

    hook.script = () => 410
    await setWebhook(svc, { url: hook.url })
    const kept = [await record(svc, 3), await record(svc, 4)]
    await until(async () => (await get(svc, '/api/webhook')).body.url === null, 'the 410 to turn the webhook off')
    await until(async () => (await deliveryRow(svc, kept[0]!)).status === 'pending', 'the refused delivery to be kept')
    assert.deepEqual((await get(svc, '/api/webhook')).body.pending, 2)
    // A 410 is not a clear; the user's own clear is, even once the webhook is already off.
    await setWebhook(svc, { url: null })
    for (const id of kept) assert.equal((await settled(svc, id, 'failed')).lastError, 'not delivered: the webhook was turned off')
    assert.deepEqual((await get(svc, '/api/webhook')).body, { url: null, events: ['message'], secretSet: false, pending: 0, delivered: 0, failed: 4, dead: 0 })
  })

  test('Retry-After on a 429 or 503, in seconds or as a date, delays the next attempt at least that long, at most WEBHOOK_RETRY_MAX_MS', async () => {
    const hook = await receiver()
    // An HTTP date has whole seconds: the second answer names the second after next (1-2 s ahead).
    let date: Date | undefined
    hook.script = (r) => {
      if (r.index === 0) return { status: 503, headers: { 'retry-after': '1' } }
      if (r.index === 1) {
        date = new Date((Math.floor(Date.now() / 1_000) + 2) * 1_000)
        return { status: 429, headers: { 'retry-after': date.toUTCString() } }
      }
      return r.index === 2 ? { status: 503, headers: { 'retry-after': '3600' } } : 200
    }
    const svc = await service({ WEBHOOK_RETRY_MAX_MS: '2000' })
    await setWebhook(svc, { url: hook.url })
    const id = await record(svc, 1)
    const row = await settled(svc, id, 'delivered', 10_000)
    assert.equal(row.attempts, 4)
    const [first, second, third, fourth] = hook.requests
    assert.ok(second!.at - first!.answeredAt! >= 1_000, `Retry-After: 1 was answered by a retry after ${second!.at - first!.answeredAt!} ms`)
    assert.ok(third!.at >= date!.getTime(), `Retry-After: a date was answered by a retry ${date!.getTime() - third!.at} ms before it`)
    // An hour is more than WEBHOOK_RETRY_MAX_MS allows: 2 s.
    const capped = fourth!.at - third!.answeredAt!
    assert.ok(capped >= 2_000 && capped < 3_000, `Retry-After: 3600 was answered by a retry after ${capped} ms`)
  })

  test('a receiver always slower than the timeout gets each retry only after the timeout and the backoff delay', async () => {
    const hook = await receiver()
    hook.script = () => ({ status: 200, delayMs: 400 })
    const options = { minMs: 40, maxMs: 200 }
    const svc = await service({ WEBHOOK_TIMEOUT_MS: '100', WEBHOOK_RETRY_MIN_MS: String(options.minMs), WEBHOOK_RETRY_MAX_MS: String(options.maxMs) })
    await setWebhook(svc, { url: hook.url })
    const ids = [await record(svc, 1), await record(svc, 2), await record(svc, 3)]
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    hook.script = () => 200
    for (const id of ids) await settled(svc, id, 'delivered')
    const first = hook.requests.filter((r) => r.deliveryId === ids[0])
    // Each timeout counts as a failure: attempt n+1 comes no sooner than the timeout plus the
    // shortest delay the backoff allows after n failures (retryDelay with no jitter).
    for (let n = 1; n < first.length; n++) {
      const gap = first[n]!.at - first[n - 1]!.at
      const least = 100 + retryDelay(n, options, () => 0)
      // Arrivals, not sends, are what the receiver sees: one that reached it late (a loaded machine)
      // shortens the gap after it by as much, hence the 20 ms of slack.
      assert.ok(gap >= least - 20, `attempt ${n + 1} came ${gap} ms after attempt ${n}, less than ${least} ms`)
    }
    // 1.5 s of timeouts at 100 ms + 40, 80, 160, 200 ... ms is at most 8 attempts, then the one that succeeds.
    assert.ok(first.length <= 9, `${first.length} attempts`)
    assert.equal((await deliveryRow(svc, ids[0]!)).attempts, first.length)
    // Those behind the timed-out one were not sent over and over meanwhile (the backoff probes with the oldest only).
    for (const id of ids.slice(1)) assert.ok(hook.requests.filter((r) => r.deliveryId === id).length <= 2)
  })

  test('a delivery failing past WEBHOOK_MAX_AGE_MS is given up, shown, and reported as webhook_failed', async () => {
    const hook = await receiver()
    hook.script = (r) => (r.event === 'message' ? { status: 500, body: 'boom' } : 200)
    const svc = await service({ WEBHOOK_MAX_AGE_MS: '200' })
    await setWebhook(svc, { url: hook.url })
    const started = Date.now()
    const id = await record(svc, 1)
    const row = await settled(svc, id, 'failed')
    assert.ok(Date.now() - started >= 200)
    assert.ok(row.attempts >= 3, `${row.attempts} attempts ${JSON.stringify(hook.requests.map((r) => [r.event, r.at - row.createdAt.getTime()]))} started ${started - row.createdAt.getTime()}`)
    assert.equal(row.lastError, 'HTTP 500: boom')
    // The last attempt was made at the deadline, not dropped before it.
    assert.ok(hook.requests.at(-1)!.at - row.createdAt.getTime() >= 200 - 2)
    const [shown] = await deliveries(svc, '?status=failed')
    const webhook = (await defaultSession(svc)).webhooks.first!.id
    assert.deepEqual(shown, {
      id,
      webhook,
      event: 'message',
      status: 'failed',
      attempts: row.attempts,
      lastStatus: 500,
      lastError: 'HTTP 500: boom',
      nextAttemptAt: null,
      createdAt: row.createdAt.toISOString(),
      deliveredAt: null,
    })
    const failures = (await get(svc, '/api/events?type=webhook_failed')).body as Array<{ data: Record<string, unknown> }>
    assert.deepEqual(failures.map((e) => e.data), [{ deliveryId: id, webhook, event: 'message', attempts: row.attempts, error: 'HTTP 500: boom' }])
    // The filter was ['message']; and webhook_failed is only ever sent when the filter names it.
    assert.ok(hook.requests.every((r) => r.event === 'message'))

    await setWebhook(svc, { url: hook.url, events: ['message', 'webhook_failed'] })
    const second = await record(svc, 2)
    await hook.waitFor((r) => r.some((x) => x.event === 'webhook_failed'), 5_000)
    const report = hook.requests.find((r) => r.event === 'webhook_failed')!
    assert.equal(JSON.parse(report.text).data.deliveryId, second)
    assert.equal(report.status, 200)
  })

  test('with no events filter, everything but webhook_failed is delivered', async () => {
    const svc = await service()
    await setWebhook(svc, { url: 'http://127.0.0.1:9/hook', events: null })
    const settings = (await defaultSession(svc)).webhooks.first!.settings
    assert.deepEqual(
      (['message', 'connected', 'disconnected', 'qr', 'logged_out', 'webhook_test', 'webhook_failed'] as const).map((type) => settings.wants(type)),
      [true, true, true, true, true, true, false],
    )
    await setWebhook(svc, { url: 'http://127.0.0.1:9/hook', events: ['qr'] })
    assert.deepEqual([settings.wants('qr'), settings.wants('message'), settings.wants('webhook_failed'), settings.wants('webhook_test')], [true, false, false, true])
  })
})

describe('deliveries and test routes', () => {
  test('POST /api/webhook/test is a 409 without a webhook URL, REST and tRPC alike', async () => {
    const svc = await service()
    const rest = await post(svc, '/api/webhook/test', {})
    assert.equal(rest.status, 409)
    assert.deepEqual(rest.body, { error: 'No webhook URL is set: set one with POST /api/webhook first', code: 'CONFLICT' })
    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${svc.url}/trpc` })] })
    await assert.rejects(client.webhook.test.mutate(), (error: unknown) => {
      assert.ok(error instanceof TRPCClientError)
      assert.equal(error.data.errorCode, 'CONFLICT')
      assert.equal(error.data.httpStatus, 409)
      assert.equal(error.message, 'No webhook URL is set: set one with POST /api/webhook first')
      return true
    })
  })

  test('POST /api/webhook/test sends a webhook_test event through the outbox, whatever the filter', async () => {
    const hook = await receiver()
    const svc = await service()
    await setWebhook(svc, { url: hook.url, events: ['message'] })
    const rest = await post(svc, '/api/webhook/test', {})
    assert.equal(rest.status, 200)
    const deliveryId = rest.body.deliveryId as string
    assert.deepEqual(Object.keys(rest.body), ['deliveryId'])
    await hook.waitFor((r) => r.length === 1)
    const request = hook.requests[0]!
    assert.equal(request.text, '{"event":"webhook_test","data":{"message":"Test delivery from wsgo-ts"}}')
    assert.equal(request.event, 'webhook_test')
    assert.equal(request.deliveryId, deliveryId)
    const logged = (await get(svc, '/api/events?type=webhook_test')).body as unknown[]
    assert.equal(logged.length, 1)

    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${svc.url}/trpc` })] })
    const viaTrpc = await client.webhook.test.mutate()
    assert.notEqual(viaTrpc.deliveryId, deliveryId)
    await hook.waitFor((r) => r.length === 2)
    assert.equal(hook.requests[1]!.deliveryId, viaTrpc.deliveryId)
  })

  test('GET /api/webhook/deliveries lists the newest first, filtered by status and limited, REST and tRPC alike', async () => {
    const hook = await receiver()
    hook.script = (r) => (JSON.parse(r.text).data.messageID === 'Mbad' ? 500 : 200)
    const svc = await service({ WEBHOOK_MAX_AGE_MS: '150' })
    await setWebhook(svc, { url: hook.url })
    const ids = [await record(svc, 1), await record(svc, 'bad'), await record(svc, 3), await record(svc, 4)]
    await settled(svc, ids[1]!, 'failed')
    for (const id of [ids[0]!, ids[2]!, ids[3]!]) await settled(svc, id, 'delivered')

    const all = await deliveries(svc)
    assert.deepEqual(all.map((d) => d.id), [...ids].reverse())
    assert.deepEqual(all.map((d) => d.status), ['delivered', 'delivered', 'failed', 'delivered'])
    const newest = all[0]!
    assert.deepEqual(Object.keys(newest).sort(), ['attempts', 'createdAt', 'deliveredAt', 'event', 'id', 'lastError', 'lastStatus', 'nextAttemptAt', 'status', 'webhook'])
    assert.equal(newest.event, 'message')
    assert.equal(newest.attempts, 1)
    assert.equal(newest.lastStatus, 200)
    assert.equal(newest.nextAttemptAt, null)
    assert.match(newest.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
    assert.ok(newest.deliveredAt! >= newest.createdAt)

    assert.deepEqual((await deliveries(svc, '?status=failed')).map((d) => [d.id, d.lastStatus, d.lastError]), [[ids[1], 500, 'HTTP 500']])
    assert.deepEqual((await deliveries(svc, '?status=delivered&limit=2')).map((d) => d.id), [ids[3], ids[2]])
    assert.deepEqual(await deliveries(svc, '?status=pending'), [])

    assertRefused(await get(svc, '/api/webhook/deliveries?limit=abc'), 'limit')
    assertRefused(await get(svc, '/api/webhook/deliveries?status=lost'), 'status')

    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${svc.url}/trpc` })] })
    assert.deepEqual(await client.webhook.deliveries.query({ status: 'delivered', limit: 2 }), await deliveries(svc, '?status=delivered&limit=2'))
    assert.deepEqual(await client.webhook.deliveries.query({}), all)

    // A pending delivery shows when it is tried next.
    hook.script = () => 503
    const waiting = await record(svc, 5)
    const pending = await until(async () => (await deliveries(svc, '?status=pending')).find((d) => d.id === waiting && d.attempts === 1), 'a failed attempt')
    assert.ok(pending.nextAttemptAt && pending.nextAttemptAt > pending.createdAt)
    assert.equal(pending.lastError, 'HTTP 503')
  })

  test('the OpenAPI document describes the deliveries, redeliver and test routes under Webhooks', async () => {
    const svc = await service()
    const document = (await get(svc, '/openapi.json')).body as { paths: Record<string, Record<string, { tags: string[]; parameters?: Array<{ name: string }> }>> }
    assert.deepEqual(document.paths['/api/webhook/deliveries']?.get?.tags, ['Webhooks'])
    assert.deepEqual(document.paths['/api/webhook/deliveries']?.get?.parameters?.map((p) => p.name).sort(), ['before', 'limit', 'status', 'webhook'])
    assert.deepEqual(document.paths['/api/webhook/deliveries/{id}/redeliver']?.post?.tags, ['Webhooks'])
    assert.deepEqual(document.paths['/api/webhook/deliveries/redeliver']?.post?.tags, ['Webhooks'])
    assert.deepEqual(document.paths['/api/webhook/test']?.post?.tags, ['Webhooks'])
  })
})

describe('worker lifecycle', () => {
  /** A fresh migrated SQLite database, removed after the test. */
  async function database(): Promise<Db> {
    const dir = tempDir()
    cleanup(async () => rmSync(dir, { recursive: true, force: true }))
    const url = `file:${path.join(dir, 'wsgo.db')}`
    await migrate(url)
    const db = await openClient(url)
    cleanup(() => db.$disconnect())
    return db
  }

  /** What src/session/session.ts wires together for the `default` session and its first webhook, on a given database. */
  async function webhooks(db: Db, receiverUrl: string | null, options: Partial<WorkerOptions> = {}) {
    const outbox = new Outbox(db, 'default')
    const events = new EventLog(db, 'default', 500, outbox)
    const set = new SessionWebhooks(db, 'default', outbox, events, createLogger('silent'), loadConfig({}), {
      timeoutMs: 5_000, concurrency: 8, retryMinMs: 20, retryMaxMs: 80, maxAgeMs: 60_000, stopGraceMs: 100, ...options,
    })
    events.useOutbox(set)
    await set.load()
    if (!set.first) await set.create({ url: receiverUrl, events: ['message'] })
    const { settings, worker } = set.first!
    if (receiverUrl !== null && settings.url === null) await settings.update({ url: receiverUrl, events: ['message'] })
    return { settings, events, worker }
  }

  test('stop() waits a bounded time, then aborts in-flight deliveries, which stay pending and go out after a restart', async () => {
    const hook = await receiver()
    hook.answers.push({ status: 200, delayMs: 5_000 })
    const db = await database()

    const first = await webhooks(db, hook.url)
    await first.worker.start()
    const recorded = await first.events.record('message', sampleMessage(1))
    await hook.waitFor((r) => r.length === 1)
    const stopping = Date.now()
    await first.worker.stop()
    const took = Date.now() - stopping
    assert.ok(took >= 95 && took < 1_000, `stop took ${took} ms`)
    const row = await db.webhookDelivery.findUniqueOrThrow({ where: { id: recorded.deliveryId! } })
    assert.equal(row.status, 'pending')
    assert.equal(row.attempts, 0, 'an interrupted attempt is not counted')
    // Stopped means stopped: new events wait in the outbox.
    const later = await first.events.record('message', sampleMessage(2))
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(hook.requests.length, 1)

    // A process that died mid-delivery leaves 'delivering' behind: it counts as pending at start.
    await db.webhookDelivery.update({ where: { id: later.deliveryId! }, data: { status: 'delivering' } })
    const second = await webhooks(db, hook.url)
    await second.worker.start()
    cleanup(() => second.worker.stop())
    await hook.waitFor(() => hook.delivered.length === 2)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), [recorded.deliveryId, later.deliveryId])
    assert.deepEqual(hook.requests.map((r) => r.deliveryId), [recorded.deliveryId, recorded.deliveryId, later.deliveryId])
    await until(async () => (await db.webhookDelivery.count({ where: { status: 'delivered' } })) === 2, 'both rows to be settled')
  })

  test('a delivery finishing within the grace period completes on stop', async () => {
    const hook = await receiver()
    hook.answers.push({ status: 200, delayMs: 50 })
    const db = await database()
    const { events, worker } = await webhooks(db, hook.url, { stopGraceMs: 2_000 })
    await worker.start()
    const recorded = await events.record('message', sampleMessage(1))
    await hook.waitFor((r) => r.length === 1)
    await worker.stop()
    const row = await db.webhookDelivery.findUniqueOrThrow({ where: { id: recorded.deliveryId! } })
    assert.equal(row.status, 'delivered')

    // The same worker can start again (the process took the lead again, say).
    await worker.start()
    cleanup(() => worker.stop())
    const again = await events.record('message', sampleMessage(2))
    await hook.waitFor(() => hook.delivered.length === 2)
    assert.equal(hook.delivered[1]!.deliveryId, again.deliveryId)
  })

  test('a restart during an outage keeps probing with the oldest delivery only', async () => {
    const hook = await receiver()
    hook.script = () => 503
    const db = await database()
    const first = await webhooks(db, hook.url)
    await first.worker.start()
    const ids = [(await first.events.record('message', sampleMessage(0))).deliveryId!]
    await until(async () => (await db.webhookDelivery.findUniqueOrThrow({ where: { id: ids[0]! } })).attempts === 1, 'the first failure')
    for (let i = 1; i < 10; i++) ids.push((await first.events.record('message', sampleMessage(i))).deliveryId!)
    await first.worker.stop()

    const second = await webhooks(db, hook.url)
    await second.worker.start()
    cleanup(() => second.worker.stop())
    assert.equal(second.worker.backingOff, true)
    await hook.waitFor((r) => r.length >= 3)
    assert.ok(hook.requests.every((r) => r.deliveryId === ids[0]))
    hook.script = () => 200
    await hook.waitFor(() => hook.delivered.length === 10)
    assert.deepEqual(new Set(hook.delivered.map((r) => r.deliveryId)), new Set(ids))
  })

  test('a delivery the receiver refuses holds the ones behind it, but never gets them given up unattempted', async () => {
    const hook = await receiver()
    hook.script = (r) => (JSON.parse(r.text).data.messageID === 'M0' ? { status: 400, body: 'bad event' } : 200)
    const db = await database()
    // Housekeeping often, so that the expiry sweep runs while the refused delivery is retried. A 400
    // is dead after a few refusals (tests/webhooks-dead.test.ts); here it is never, to hold the age
    // limit's own promise: whatever keeps a delivery at the head, nothing behind it goes untried.
    const { events, worker } = await webhooks(db, hook.url, { concurrency: 1, maxAgeMs: 400, housekeepingMs: 20, deadAfterAttempts: Number.POSITIVE_INFINITY })
    await worker.start()
    cleanup(() => worker.stop())
    const poison = (await events.record('message', sampleMessage(0))).deliveryId!
    await until(async () => (await db.webhookDelivery.findUniqueOrThrow({ where: { id: poison } })).attempts === 1, 'the first refusal')
    const behind: string[] = []
    for (let i = 1; i <= 10; i++) behind.push((await events.record('message', sampleMessage(i))).deliveryId!)
    await until(async () => (await db.webhookDelivery.findUniqueOrThrow({ where: { id: poison } })).attempts >= 3, 'more refusals')
    assert.ok(hook.requests.every((r) => r.deliveryId === poison), 'the order is kept: nothing behind the refused delivery went out while it was retried')

    // Once it ages out and is given up, those behind it (just as old) are each tried, oldest first.
    await hook.waitFor(() => hook.delivered.length === 10, 5_000)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), behind)
    await until(async () => (await db.webhookDelivery.count({ where: { status: 'delivered' } })) === 10, 'all to be settled')
    const rows = await db.webhookDelivery.findMany({ orderBy: { seq: 'asc' } })
    assert.equal(rows[0]!.status, 'failed')
    assert.ok(rows[0]!.attempts >= 3)
    assert.deepEqual(rows.slice(1).map((r) => [r.status, r.attempts]), Array(10).fill(['delivered', 1]))
    const failures = await events.list({ limit: 10, type: 'webhook_failed' })
    assert.deepEqual(failures.map((e) => e.data.deliveryId), [poison])
  })

  test('an outage longer than the maximum age gives every delivery an attempt before giving it up', async () => {
    const hook = await receiver()
    hook.script = () => 503
    const db = await database()
    const { events, worker } = await webhooks(db, hook.url, { concurrency: 4, maxAgeMs: 300, housekeepingMs: 20 })
    await worker.start()
    cleanup(() => worker.stop())
    const first = (await events.record('message', sampleMessage(0))).deliveryId!
    await until(async () => (await db.webhookDelivery.findUniqueOrThrow({ where: { id: first } })).attempts === 1, 'the first failure')
    for (let i = 1; i <= 10; i++) await events.record('message', sampleMessage(i))
    await until(async () => (await db.webhookDelivery.count({ where: { status: 'failed' } })) === 11, 'all to be given up', 5_000)
    const rows = await db.webhookDelivery.findMany({ orderBy: { seq: 'asc' } })
    assert.deepEqual(rows.filter((r) => r.attempts === 0).map((r) => r.id), [], 'given up without an attempt')
    assert.deepEqual(new Set(hook.requests.map((r) => r.deliveryId)), new Set(rows.map((r) => r.id)))
    assert.equal((await events.list({ limit: 20, type: 'webhook_failed' })).length, 11)
  })

  test('a backlog a 410 kept survives a restart while the webhook is off, and goes to the next URL', async () => {
    const hook = await receiver()
    hook.answers.push(410)
    const db = await database()
    const first = await webhooks(db, hook.url, { concurrency: 1, maxAgeMs: 100, housekeepingMs: 20 })
    await first.worker.start()
    const ids = [(await first.events.record('message', sampleMessage(0))).deliveryId!, (await first.events.record('message', sampleMessage(1))).deliveryId!]
    await until(() => first.settings.url === null || undefined, 'the 410 to turn the webhook off')
    // Off, the backlog is on hold: older than the maximum age, it is not expired either.
    await new Promise((resolve) => setTimeout(resolve, 200))
    await first.worker.stop()

    const second = await webhooks(db, null, { concurrency: 1, maxAgeMs: 100, housekeepingMs: 20 })
    await second.worker.start()
    cleanup(() => second.worker.stop())
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.deepEqual((await db.webhookDelivery.findMany({ orderBy: { seq: 'asc' } })).map((r) => [r.id, r.status]), [[ids[0], 'pending'], [ids[1], 'pending']])
    await second.settings.update({ url: hook.url })
    await hook.waitFor(() => hook.delivered.length === 2)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), ids)
    await until(async () => (await db.webhookDelivery.count({ where: { status: 'delivered' } })) === 2, 'both to be settled')
  })

  test('a row handed over to a worker that stopped before the commit goes back to pending, and out after a restart', async () => {
    const hook = await receiver()
    const db = await database()
    const { worker, settings } = await webhooks(db, hook.url)
    await worker.start()
    // Idle once its first claim found nothing: it then takes new rows directly (an asked handover is given back).
    await until(async () => {
      const asked = worker.handover()
      asked.abandoned()
      return asked.claimed || undefined
    }, 'the worker to take rows directly')
    const handover = worker.handover()
    assert.equal(handover.claimed, true)
    await worker.stop()
    // What EventLog.record writes for a claimed handover, committed after the stop.
    const createdAt = new Date()
    const row = await db.webhookDelivery.create({ data: { session: 'default', webhook: settings.id, id: 'handed-over', event: 'message', payload: '{"event":"message","data":{}}', status: 'delivering', createdAt, nextAttemptAt: createdAt } })
    handover.committed(row)
    await until(async () => ((await db.webhookDelivery.findUniqueOrThrow({ where: { seq: row.seq } })).status === 'pending' ? true : undefined), 'the row to be pending again')
    assert.equal(hook.requests.length, 0)
    await worker.start()
    cleanup(() => worker.stop())
    await hook.waitFor(() => hook.delivered.length === 1)
    assert.equal(hook.delivered[0]!.deliveryId, 'handed-over')
  })

  /** Resolves once the worker's first claim found nothing, so it takes new rows directly (an asked handover is given back). */
  async function takingDirectly(worker: WebhookWorker): Promise<void> {
    await until(async () => {
      const asked = worker.handover()
      asked.abandoned()
      return asked.claimed || undefined
    }, 'the worker to take rows directly')
  }

  /** Counts the claim statements of every worker until the test ends (the real method runs). */
  function countClaims(): { count: number } {
    const claims = { count: 0 }
    const claimDue = Outbox.prototype.claimDue
    Outbox.prototype.claimDue = function (...args) {
      claims.count++
      return claimDue.apply(this, args)
    }
    cleanup(async () => {
      Outbox.prototype.claimDue = claimDue
    })
    return claims
  }

  test('a burst waits claimed in the ready line: a claim per line of rows, not one per delivery, each delivered once', async () => {
    const hook = await receiver()
    hook.script = () => ({ status: 200, delayMs: 15 })
    const db = await database()
    const claims = countClaims()
    const { events, worker } = await webhooks(db, hook.url, { concurrency: 2, readyAhead: 8 })
    await worker.start()
    cleanup(() => worker.stop())
    await takingDirectly(worker)
    claims.count = 0
    // 60 events at once, as a burst of incoming messages records them.
    const recorded = await Promise.all(Array.from({ length: 60 }, (_, i) => events.record('message', sampleMessage(i))))
    await hook.waitFor(() => hook.delivered.length === 60, 10_000)
    assert.deepEqual(new Set(hook.requests.map((r) => r.deliveryId)), new Set(recorded.map((r) => r.deliveryId)))
    assert.equal(hook.requests.length, 60, 'each delivered once')
    const overlap = (request: ReceivedRequest) => hook.requests.filter((other) => other.at <= request.at && (other.answeredAt ?? Infinity) > request.at).length
    assert.ok(Math.max(...hook.requests.map(overlap)) <= 2, 'never more than WEBHOOK_CONCURRENCY in flight')
    // Up to 10 were handed over (2 slots, 8 in line); each claim then took at least 4 (it waits for
    // the line to be half empty), plus the last claims that found nothing. One per freed slot was 50.
    assert.ok(claims.count <= 16, `${claims.count} claims for 60 deliveries`)
    await until(async () => (await db.webhookDelivery.count({ where: { status: 'delivered' } })) === 60, 'every row settled')
  })

  test('a delivery the receiver took frees its slot before "delivered" is written; stop() still waits for the write', async () => {
    const hook = await receiver()
    const db = await database()
    // Writing "delivered" waits for the test's go (the real write runs after it).
    let go!: () => void
    const gate = new Promise<void>((resolve) => (go = resolve))
    const markDelivered = Outbox.prototype.markDelivered
    Outbox.prototype.markDelivered = async function (...args) {
      await gate
      return markDelivered.apply(this, args)
    }
    cleanup(async () => {
      Outbox.prototype.markDelivered = markDelivered
    })
    const { events, worker } = await webhooks(db, hook.url, { concurrency: 1 })
    await worker.start()
    const ids: string[] = []
    for (let i = 0; i < 4; i++) ids.push((await events.record('message', sampleMessage(i))).deliveryId!)
    // One slot, and none of the four written as delivered yet: each answer freed the slot for the next.
    await hook.waitFor(() => hook.delivered.length === 4)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), ids)
    assert.equal(await db.webhookDelivery.count({ where: { status: 'delivered' } }), 0)
    const stopped = worker.stop()
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.equal(await db.webhookDelivery.count({ where: { status: 'delivered' } }), 0)
    go()
    await stopped
    assert.equal(await db.webhookDelivery.count({ where: { status: 'delivered' } }), 4, 'written before stop() returned')
  })

  test('when the receiver fails, the rows waiting in the ready line are pending again and the oldest probes alone', async () => {
    const hook = await receiver()
    let failing = true
    // The first delivery is answered late, so the rest wait in the line meanwhile, then refused.
    hook.script = () => (failing ? { status: 503, delayMs: 150 } : 200)
    const db = await database()
    const { events, worker } = await webhooks(db, hook.url, { concurrency: 1, readyAhead: 8 })
    await worker.start()
    cleanup(() => worker.stop())
    await takingDirectly(worker)
    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push((await events.record('message', sampleMessage(i))).deliveryId!)
    const waiting = await db.webhookDelivery.findMany({ where: { id: { in: ids.slice(1) } } })
    assert.ok(waiting.filter((row) => row.status === 'delivering').length >= 8, 'the rows behind the first wait claimed, in the line')
    await until(async () => (await db.webhookDelivery.findUniqueOrThrow({ where: { id: ids[0]! } })).attempts >= 2, 'a second probe')
    assert.equal(worker.backingOff, true)
    const behind = await db.webhookDelivery.findMany({ where: { id: { in: ids.slice(1) } } })
    assert.deepEqual(behind.map((row) => [row.status, row.attempts]), Array(9).fill(['pending', 0]), 'back to pending, never tried')
    assert.ok(hook.requests.every((r) => r.deliveryId === ids[0]), 'only the oldest probed')

    failing = false
    await hook.waitFor(() => hook.delivered.length === 10, 5_000)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), ids, 'in order, each once')
  })

  test('the outbox is pruned: delivered rows beyond the newest N or too old go, failed ones are kept longer', async () => {
    const db = await database()
    const { worker, settings } = await webhooks(db, 'http://127.0.0.1:9/never', { keepDelivered: 4, concurrency: 1 })
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 60 * 60_000)
    const row = (id: string, status: string, createdAt: Date) => ({ session: 'default', webhook: settings.id, id, event: 'message', payload: '{}', status, createdAt, nextAttemptAt: createdAt })
    await db.webhookDelivery.createMany({
      data: [
        row('delivered-8d', 'delivered', daysAgo(8)), // older than 7 days: goes
        row('failed-8d', 'failed', daysAgo(8)), // failed rows are kept 30 days
        row('failed-31d', 'failed', daysAgo(31)), // ... and then go
        ...['a', 'b', 'c', 'd', 'e', 'f'].map((id) => row(`delivered-${id}`, 'delivered', daysAgo(0))), // the newest 4 stay
        row('pending', 'pending', daysAgo(0)),
      ],
    })
    // Housekeeping runs at start; stop before the pending row could be sent anywhere.
    const stopped = worker.start().then(() => worker.stop())
    await stopped
    const left = await db.webhookDelivery.findMany({ orderBy: { seq: 'asc' }, select: { id: true } })
    assert.deepEqual(left.map((r) => r.id), ['failed-8d', 'delivered-c', 'delivered-d', 'delivered-e', 'delivered-f', 'pending'])
  })
})

// Everything above runs on SQLite; the claims and updates are the same Prisma calls on PostgreSQL.
// This part uses the server `npm test` starts for the whole run (TEST_DATABASE_URL), rather than
// starting one for a single test when this file is run on its own.
const postgresSkip = process.env.TEST_DATABASE_URL ? undefined : 'needs TEST_DATABASE_URL (npm test sets it)'

describe('on PostgreSQL', { skip: postgresSkip }, () => {
  after(stopTestDatabases)

  test('retries, in-order delivery after failures, and a restart that resends what was in flight', async () => {
    const postgres = (await testDatabases()).find((database) => database.provider === 'postgresql')!
    const url = await postgres.fresh()
    const hook = await receiver()
    hook.answers.push(500, 500)
    const first = await startTestService({ ...FAST_RETRIES, DATABASE_URL: url, WEBHOOK_CONCURRENCY: '1' })
    await setWebhook(first, { url: hook.url })
    const ids: string[] = []
    for (let i = 0; i < 10; i++) ids.push(await record(first, i))
    await hook.waitFor(() => hook.delivered.length === 10)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), ids)
    assert.equal((await settled(first, ids[0]!, 'delivered')).attempts, 3)
    await first.close()

    // While the service is down, two more events; one looks like it was being sent when the process died.
    const db = await openClient(url)
    cleanup(() => db.$disconnect())
    const log = new EventLog(db, 'default', 500, new Outbox(db, 'default'))
    const webhook = await db.webhook.findFirstOrThrow({ where: { session: 'default' } })
    log.useOutbox({ targets: () => [pendingTarget(webhook.id)] })
    const later = [(await log.record('message', sampleMessage(10))).deliveryId!, (await log.record('message', sampleMessage(11))).deliveryId!]
    await db.webhookDelivery.update({ where: { id: later[0]! }, data: { status: 'delivering' } })

    const second = await service({ DATABASE_URL: url })
    await hook.waitFor(() => hook.delivered.length === 12)
    assert.deepEqual(hook.delivered.slice(10).map((r) => r.deliveryId).sort(), [...later].sort())
    await until(async () => (await get(second, '/api/webhook')).body.delivered === 12, 'the counters')
  })
})
