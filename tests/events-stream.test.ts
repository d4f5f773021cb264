// The live event stream: GET /api/events/stream (Server-Sent Events) and the events.onEvent tRPC
// subscription, on a real service with a real SQLite file; events are recorded through the
// session's own event log (as WhatsApp's would be), and a stand-in message reaches a tRPC client.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createTRPCClient, httpSubscriptionLink } from '@trpc/client'
import { EventSource } from 'eventsource'
import type { AppRouter } from '../src/routers/index.js'
import { EventLog, type RecordedEvent } from '../src/events/log.js'
import { EventTail } from '../src/events/stream.js'
import { startTestService, type TestService } from './support/service.js'
import { ALICE, startWithStandIn, waitUntil } from './support/whatsapp.js'

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

async function start(env: Record<string, string> = {}): Promise<TestService> {
  // fetch (undici) opens a fresh connection after a stream it was reading is aborted, and sends
  // nothing on it; a stopping server waits for such a connection until the drain timeout.
  const service = await startTestService(env, { drainTimeoutMs: 1_000 })
  cleanups.push(() => service.close())
  return service
}

/** Records a `webhook_test` event in the service's default session, as the service itself would. */
async function record(service: TestService, message: string): Promise<RecordedEvent> {
  const session = await service.services.sessions.get('default')
  return session.events.record('webhook_test', { message })
}

interface SseFrame {
  id?: string
  event?: string
  data?: string
  comment?: string
}

/** An open SSE response, read frame by frame. */
class SseReader {
  private text = ''
  private readonly frames: SseFrame[] = []
  private ended = false
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>
  private readonly decoder = new TextDecoder()

  constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {
    this.reader = response.body!.getReader()
  }

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const controller = new AbortController()
    const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal })
    const reader = new SseReader(response, controller)
    cleanups.push(async () => reader.close())
    return reader
  }

  /** The next frame, waiting up to `timeoutMs`. */
  async next(timeoutMs = 5_000): Promise<SseFrame> {
    const deadline = Date.now() + timeoutMs
    while (this.frames.length === 0) {
      if (this.ended) throw new Error('the stream ended')
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no frame within ${timeoutMs} ms`)
      let timer: NodeJS.Timeout | undefined
      const chunk = await Promise.race([
        this.reader.read(),
        new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), left))),
      ])
      clearTimeout(timer)
      if (chunk === 'timeout') continue
      if (chunk.done) {
        this.ended = true
        continue
      }
      this.text += this.decoder.decode(chunk.value, { stream: true })
      let end: number
      while ((end = this.text.indexOf('\n\n')) >= 0) {
        const block = this.text.slice(0, end)
        this.text = this.text.slice(end + 2)
        const frame: SseFrame = {}
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) frame.comment = line.slice(1).trim()
          else {
            const at = line.indexOf(':')
            const field = line.slice(0, at)
            const value = line.slice(at + 1).replace(/^ /, '')
            if (field === 'id' || field === 'event' || field === 'data') frame[field] = value
          }
        }
        this.frames.push(frame)
      }
    }
    return this.frames.shift()!
  }

  /** The next `count` events (frames with data), skipping heartbeats and the retry hint. */
  async events(count: number, timeoutMs = 5_000): Promise<Array<{ id: number; type: string; data: Record<string, unknown> }>> {
    const events: Array<{ id: number; type: string; data: Record<string, unknown> }> = []
    while (events.length < count) {
      const frame = await this.next(timeoutMs)
      if (frame.data === undefined) continue
      const event = JSON.parse(frame.data) as { id: number; type: string; data: Record<string, unknown> }
      assert.equal(frame.id, String(event.id), 'the SSE id is the event id')
      assert.equal(frame.event, event.type, 'the SSE event name is the event type')
      events.push(event)
    }
    return events
  }

  close(): void {
    this.controller.abort()
  }
}

test('SSE: a reconnect with Last-Event-ID gets exactly the events it missed, in order, and then the live ones', async () => {
  const service = await start()
  const url = `${service.url}/api/events/stream?type=webhook_test`
  const first = await SseReader.open(url)
  assert.equal(first.response.status, 200)
  assert.match(first.response.headers.get('content-type') ?? '', /^text\/event-stream/)

  const seen: number[] = []
  for (let i = 0; i < 3; i++) seen.push((await record(service, `before ${i}`)).id)
  const received = await first.events(3)
  assert.deepEqual(
    received.map((event) => event.id),
    seen,
  )
  assert.deepEqual(received[0]!.data, { message: 'before 0' })
  first.close()

  // Recorded while no client is connected.
  const missed: number[] = []
  for (let i = 0; i < 5; i++) missed.push((await record(service, `missed ${i}`)).id)

  const second = await SseReader.open(url, { 'last-event-id': String(seen.at(-1)) })
  const caughtUp = await second.events(5)
  assert.deepEqual(
    caughtUp.map((event) => event.id),
    missed,
  )
  // Then live: the next event comes once, right after the missed ones (no duplicate of any).
  const live = await record(service, 'live')
  const [next] = await second.events(1)
  assert.equal(next!.id, live.id)
  assert.deepEqual(next!.data, { message: 'live' })
  second.close()
})

test('SSE: without Last-Event-ID only new events come; the per-session path and a type filter work', async () => {
  const service = await start()
  await record(service, 'old')
  const stream = await SseReader.open(`${service.url}/api/sessions/default/events/stream?type=qr,webhook_test`)
  assert.equal(stream.response.status, 200)
  const fresh = await record(service, 'new')
  const [event] = await stream.events(1)
  assert.equal(event!.id, fresh.id)
  assert.equal(event!.type, 'webhook_test')
  stream.close()

  const missing = await fetch(`${service.url}/api/sessions/nosuch/events/stream`)
  assert.equal(missing.status, 404)
  assert.equal(((await missing.json()) as { code: string }).code, 'NOT_FOUND')
})

test('SSE: heartbeats arrive on an idle stream', async () => {
  const service = await start({ EVENT_STREAM_HEARTBEAT_MS: '50' })
  const stream = await SseReader.open(`${service.url}/api/events/stream?type=webhook_test`)
  const comments: string[] = []
  while (comments.length < 3) {
    const frame = await stream.next(2_000)
    if (frame.comment !== undefined) comments.push(frame.comment)
  }
  assert.deepEqual(comments, ['heartbeat', 'heartbeat', 'heartbeat'])
  stream.close()
})

test('SSE: key-gated (401 without or with a wrong key), bad input is a 400 naming the field, other methods 405', async () => {
  const service = await start({ API_KEY: 'the-key' })
  const path = `${service.url}/api/events/stream`
  for (const headers of [{}, { 'x-api-key': 'wrong' }] as Array<Record<string, string>>) {
    const res = await fetch(path, { headers })
    assert.equal(res.status, 401)
    assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED')
  }
  const byQuery = await SseReader.open(`${path}?api_key=the-key`)
  assert.equal(byQuery.response.status, 200)
  byQuery.close()

  const badType = await fetch(`${path}?type=message,nope`, { headers: { 'x-api-key': 'the-key' } })
  assert.equal(badType.status, 400)
  const badTypeBody = (await badType.json()) as { code: string; issues: Array<{ path: string; message: string }> }
  assert.equal(badTypeBody.code, 'VALIDATION_ERROR')
  assert.equal(badTypeBody.issues[0]!.path, 'type')
  assert.match(badTypeBody.issues[0]!.message, /message, connected/)

  const badId = await fetch(path, { headers: { 'x-api-key': 'the-key', 'last-event-id': 'abc' } })
  assert.equal(badId.status, 400)
  assert.equal(((await badId.json()) as { issues: Array<{ path: string }> }).issues[0]!.path, 'Last-Event-ID')

  const post = await fetch(path, { method: 'POST', headers: { 'x-api-key': 'the-key' } })
  assert.equal(post.status, 405)
  assert.equal(post.headers.get('allow'), 'GET')
})

test('SSE: a session key streams its own session only (403 elsewhere)', async () => {
  const service = await start({ API_KEY: 'admin-key' })
  const admin = { 'x-api-key': 'admin-key', 'content-type': 'application/json' }
  assert.equal((await fetch(`${service.url}/api/sessions`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'sales' }) })).status, 200)
  const made = await fetch(`${service.url}/api/sessions/sales/keys`, { method: 'POST', headers: admin, body: '{}' })
  const { key } = (await made.json()) as { key: string }
  const own = await SseReader.open(`${service.url}/api/sessions/sales/events/stream?type=webhook_test`, { 'x-api-key': key })
  assert.equal(own.response.status, 200)
  const sales = await service.services.sessions.get('sales')
  const recorded = await sales.events.record('webhook_test', { message: 'to sales' })
  const [event] = await own.events(1)
  assert.equal(event!.id, recorded.id)
  own.close()
  for (const path of ['/api/events/stream', '/api/sessions/default/events/stream']) {
    const res = await fetch(`${service.url}${path}`, { headers: { 'x-api-key': key } })
    assert.equal(res.status, 403, path)
    assert.equal(((await res.json()) as { code: string }).code, 'FORBIDDEN')
  }
})

test('SSE: concurrent streams are capped (429), and a closed one frees its place', async () => {
  const service = await start({ EVENT_STREAM_MAX: '2' })
  const path = `${service.url}/api/events/stream`
  const one = await SseReader.open(path)
  const two = await SseReader.open(path)
  assert.equal(one.response.status, 200)
  assert.equal(two.response.status, 200)
  const third = await fetch(path)
  assert.equal(third.status, 429)
  assert.equal(((await third.json()) as { code: string }).code, 'TOO_MANY_STREAMS')
  // The subscription counts against the same cap.
  one.close()
  const again = await waitUntil('a freed stream slot', async () => {
    const reader = await SseReader.open(path)
    if (reader.response.status === 200) return reader
    await reader.response.body?.cancel()
    return undefined
  })
  again.close()
  two.close()
})

test('SSE: a stopping service ends its streams with a reason instead of holding its stop', async () => {
  const service = await startTestService()
  const stream = await SseReader.open(`${service.url}/api/events/stream`)
  const started = Date.now()
  const stopped = service.close()
  let frame: SseFrame
  do frame = await stream.next(3_000)
  while (frame.event !== 'end')
  assert.match(JSON.parse(frame.data!).reason as string, /stopping/)
  await stopped
  // Well under the 10 s drain timeout that would otherwise cut the connection.
  assert.ok(Date.now() - started < 5_000, `stopped after ${Date.now() - started} ms`)
})

test('a slow reader holds at most EVENT_STREAM_BUFFER events; the rest are read from the log, none lost', { timeout: 30_000 }, async () => {
  const service = await start()
  const session = await service.services.sessions.get('default')
  const controller = new AbortController()
  // From the start of the log (it holds no webhook_test event yet): no race with "from now on".
  const tail = new EventTail(session.events, { types: ['webhook_test'], after: 0, maxBuffered: 5, isLocal: () => true, pollMs: 1_000, signal: controller.signal })
  const events = tail.events()
  const firstPull = events.next()
  const first = await record(service, 'first')
  assert.equal((await firstPull).value?.id, first.id)

  // Nothing is pulled while 40 events are stored.
  const behind: number[] = []
  for (let i = 0; i < 40; i++) {
    behind.push((await record(service, `burst ${i}`)).id)
    assert.ok(tail.buffered <= 5, `${tail.buffered} events held`)
  }
  assert.ok(tail.overflows >= 1)
  const got: number[] = []
  while (got.length < behind.length) got.push((await events.next()).value!.id)
  assert.deepEqual(got, behind)
  controller.abort()
  assert.equal((await events.next()).done, true)
})

test('streams on a process that does not own the session read what the owner records from the log, also after the session moves away', { timeout: 30_000 }, async () => {
  const service = await start()
  const session = await service.services.sessions.get('default')
  // Another process's recorder on the same database: this process's listeners never hear its events.
  const owner = new EventLog(service.db, 'default', 500, { insertStatement: () => assert.fail('no outbox row is written') })
  const controller = new AbortController()
  const tail = (isLocal: () => boolean) =>
    new EventTail(session.events, { types: ['webhook_test'], after: 0, maxBuffered: 100, isLocal, pollMs: 20, signal: controller.signal }).events()
  // Two streams here (sharing one poll of the log), and one whose process owns the session until it moves.
  const remote = [tail(() => false), tail(() => false)]
  let ownedHere = true
  const moving = tail(() => ownedHere)
  const pulls = remote.map((events) => [events.next(), events.next()])
  const a = await owner.record('webhook_test', { message: 'elsewhere a' })
  const b = await owner.record('webhook_test', { message: 'elsewhere b' })
  for (const pair of pulls) {
    assert.deepEqual(
      (await Promise.all(pair)).map((result) => result.value?.id),
      [a.id, b.id],
    )
  }
  // The moving stream got a and b from its first read of the log; then the session moves away.
  assert.equal((await moving.next()).value?.id, a.id)
  assert.equal((await moving.next()).value?.id, b.id)
  const afterMove = moving.next()
  ownedHere = false
  const c = await owner.record('webhook_test', { message: 'after the move' })
  assert.equal((await afterMove).value?.id, c.id)
  controller.abort()
})

test('GET /api/events: pages of at most 1000, with before/after cursors, newest first', async () => {
  const service = await start()
  const ids: number[] = []
  for (let i = 0; i < 6; i++) ids.push((await record(service, `e${i}`)).id)
  const get = async (query: string) => {
    const res = await fetch(`${service.url}/api/events?type=webhook_test&${query}`)
    assert.equal(res.status, 200, query)
    return ((await res.json()) as Array<{ id: number }>).map((event) => event.id)
  }
  const newest = [...ids].reverse()
  assert.deepEqual(await get('limit=2'), newest.slice(0, 2))
  assert.deepEqual(await get(`limit=2&before=${newest[1]}`), newest.slice(2, 4))
  assert.deepEqual(await get(`limit=2&after=${ids[1]}`), [ids[3], ids[2]])
  assert.deepEqual(await get(`after=${ids[1]}&before=${ids[4]}`), [ids[3], ids[2]])

  const tooMany = await fetch(`${service.url}/api/events?limit=1001`)
  assert.equal(tooMany.status, 400)
  assert.equal(((await tooMany.json()) as { issues: Array<{ path: string }> }).issues[0]!.path, 'limit')
  const badCursor = await fetch(`${service.url}/api/events?before=x`)
  assert.equal(badCursor.status, 400)
  assert.equal(((await badCursor.json()) as { issues: Array<{ path: string }> }).issues[0]!.path, 'before')
})

test('tRPC events.onEvent over httpSubscriptionLink: typed events, a stand-in message, resume by lastEventId', async () => {
  const h = await startWithStandIn()
  cleanups.push(() => h.close())
  await h.pair()
  const client = createTRPCClient<AppRouter>({ links: [httpSubscriptionLink({ url: `${h.url}/trpc`, EventSource })] })

  const messages: Array<{ id: string; text: string; from: string }> = []
  const subscription = client.events.onEvent.subscribe(
    { types: ['message'] },
    {
      onData: ({ id, data: event }) => {
        // Typed by the event's type: a message's data has `text` and `from`.
        if (event.type === 'message') messages.push({ id, text: event.data.text, from: event.data.from })
      },
    },
  )
  cleanups.push(async () => subscription.unsubscribe())
  // The subscription is open once its stream is: wait for the service to count it.
  const { streamRegistryOf } = await import('../src/events/stream-registry.js')
  await waitUntil('the subscription to open', async () => (streamRegistryOf(h.service.services).count === 1 ? true : undefined))
  await h.standin.sendText(ALICE, 'Hello over tRPC!')
  await waitUntil('the message on the subscription', async () => (messages.length >= 1 ? true : undefined), 10_000)
  assert.equal(messages[0]!.text, 'Hello over tRPC!')
  assert.equal(messages[0]!.from, `${ALICE.phone}@s.whatsapp.net`)
  subscription.unsubscribe()

  // A new subscription that says where the last one stopped gets what came after it, from the log.
  await h.standin.sendText(ALICE, 'While away')
  await waitUntil('the second message in the log', async () => {
    const logged = (await (await fetch(`${h.url}/api/events?type=message&limit=2`)).json()) as unknown[]
    return logged.length === 2 ? true : undefined
  })
  const resumed: string[] = []
  const again = client.events.onEvent.subscribe(
    { types: ['message'], lastEventId: messages[0]!.id },
    { onData: ({ data: event }) => void (event.type === 'message' && resumed.push(event.data.text)) },
  )
  cleanups.push(async () => again.unsubscribe())
  await waitUntil('the missed message', async () => (resumed.length >= 1 ? true : undefined), 10_000)
  assert.deepEqual(resumed, ['While away'])
  again.unsubscribe()
})
