// Storms (issue 18 #2): a burst of incoming messages must not stall the API, and must not make a
// receiver that answers at once get any delivery twice. A burst used to run as one long task
// (better-sqlite3 is synchronous behind its promises), and the webhook timeout counted that stall
// against the receiver: deliveries answered in a millisecond were timed out and sent again. The
// latency budget itself is a benchmark (`npm run bench -- storm`); this checks what can be checked
// without timing thresholds: every delivery exactly once, each at its first attempt, every probe
// answered, and the event log's group commit.
import { once } from 'node:events'
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { Worker } from 'node:worker_threads'
import { readFileSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { BAILEYS_EVENT_BUFFER_FILE, BAILEYS_MESSAGES_RECV_FILE, BAILEYS_MESSAGES_SEND_FILE, BAILEYS_PATCHES, inspectBaileysLiveQueue, inspectBaileysReceipts, patchBaileysLiveQueue } from '../scripts/patch-baileys.mjs'
import { SLICE_MS, waitForSlice } from '../src/event-loop-slice.js'
import { type FrameSource, MAX_WAITING_FRAMES, paceFrames } from '../src/session/paced-frames.js'
import { EventLog, MAX_BATCH } from '../src/events/log.js'
import { openClient, rawSqlOf } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { Outbox, pendingTarget } from '../src/webhooks/outbox.js'
import { releaseBaileysTimers, startStandIn } from './standin/index.js'
import { textMessage } from './standin/contact-messages.js'
import { startServiceProcess } from './support/child.js'
import { sampleMessage } from './support/fixtures.js'
import { tempDir } from './support/service.js'
import { ALICE, waitUntil } from './support/whatsapp.js'

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
  releaseBaileysTimers()
})

/**
 * A receiver on a thread of its own, answering 200 the moment a request's body is in, so that its
 * answers are prompt whatever this thread (the stand-in, the probes) is doing. It counts requests
 * per X-Wsgo-Delivery and per message id.
 */
const receiverSource = `
  const { parentPort } = require('node:worker_threads')
  const { createServer } = require('node:http')
  const deliveries = {}
  const messages = {}
  const server = createServer((req, res) => {
    const chunks = []
    req.on('data', (chunk) => chunks.push(chunk))
    req.on('end', () => {
      const id = String(req.headers['x-wsgo-delivery'])
      deliveries[id] = (deliveries[id] || 0) + 1
      const message = /"messageID":"([^"]+)"/.exec(Buffer.concat(chunks).toString())
      if (message) messages[message[1]] = (messages[message[1]] || 0) + 1
      res.end()
    })
  })
  server.keepAliveTimeout = 30000
  parentPort.on('message', () => parentPort.postMessage({ deliveries, messages }))
  server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port))
`

async function startReceiver(): Promise<{ url: string; counts(): Promise<{ deliveries: Record<string, number>; messages: Record<string, number> }> }> {
  const worker = new Worker(receiverSource, { eval: true })
  cleanups.push(() => worker.terminate())
  const port = await new Promise<number>((resolve) => worker.once('message', resolve))
  return {
    url: `http://127.0.0.1:${port}/hook`,
    counts: () => {
      const answer = new Promise<{ deliveries: Record<string, number>; messages: Record<string, number> }>((resolve) => worker.once('message', resolve))
      worker.postMessage('counts')
      return answer
    },
  }
}

test('a burst of 600 incoming messages: each delivered exactly once, at its first attempt, while /health and /api/status keep answering', { timeout: 300_000 }, async () => {
  const BURST = 600
  const standin = await startStandIn()
  cleanups.push(() => standin.close())
  const receiver = await startReceiver()
  const service = await startServiceProcess(
    {
      DATABASE_URL: `file:${tempDir()}/wsgo.db`,
      WA_WS_URL: standin.url,
      // Short, so that a stall of the service counted against the receiver shows up as a retry.
      WEBHOOK_TIMEOUT_MS: '1000',
    },
    { trustStandIn: true },
  )
  cleanups.push(() => service.stop())
  await waitUntil('a QR', async () => {
    const res = await fetch(`${service.url}/api/qr`)
    return res.status === 200 ? standin.scanQr(await res.text()) : undefined
  })
  await waitUntil('logged in', async () => ((await (await fetch(`${service.url}/api/status`)).json()) as { loggedIn: boolean }).loggedIn || undefined)
  const set = await fetch(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) })
  assert.equal(set.status, 200)
  const warmUp = await standin.sendText(ALICE, 'before the burst')
  await waitUntil('the warm-up delivery', async () => ((await receiver.counts()).messages[warmUp] ? true : undefined), 30_000, 50)

  // Encrypted first, then handed over in one go, as a server delivering a backlog would.
  const burst = await standin.prepareBurst(
    ALICE,
    Array.from({ length: BURST }, (_, i) => textMessage(`burst ${i}`)),
  )
  let over = false
  const failures: string[] = []
  let answered = 0
  // Sequential probes, each waited for: any that is refused, fails or is not 200 is a failure.
  const probing = (async () => {
    while (!over) {
      for (const path of ['/health', '/api/status']) {
        try {
          const res = await fetch(`${service.url}${path}`, { signal: AbortSignal.timeout(60_000) })
          await res.arrayBuffer()
          if (res.status === 200) answered++
          else failures.push(`${path}: HTTP ${res.status}`)
        } catch (error) {
          failures.push(`${path}: ${String((error as Error).cause ?? error)}`)
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  })()
  try {
    burst.deliver()
    await waitUntil(
      `${BURST} deliveries`,
      async () => {
        const { messages } = await receiver.counts()
        return burst.ids.every((id) => messages[id]) ? true : undefined
      },
      240_000,
      100,
    )
  } finally {
    over = true
    await probing
  }

  const { deliveries, messages } = await receiver.counts()
  assert.deepEqual(failures, [], 'every probe was answered with 200')
  assert.ok(answered > 0)
  assert.deepEqual(
    burst.ids.filter((id) => messages[id] !== 1),
    [],
    'each message delivered once',
  )
  assert.deepEqual(
    Object.entries(deliveries).filter(([, count]) => count !== 1),
    [],
    'no X-Wsgo-Delivery received twice',
  )
  // One chat's messages are recorded in the order they came (scripts/patch-baileys.mjs queues live
  // stanzas, the ingest queue records them in order): the newest events the log keeps, oldest first.
  const logged = (await (await fetch(`${service.url}/api/events?type=message&limit=500`)).json()) as Array<{ data: { messageID?: string } }>
  const order = logged.reverse().map((event) => event.data.messageID)
  assert.ok(order.length >= 100, `the log keeps the burst's newest messages (${order.length})`)
  assert.deepEqual(order, burst.ids.slice(-order.length), "the burst's messages recorded in arrival order")
  const rows = (await (await fetch(`${service.url}/api/webhook/deliveries?limit=1000`)).json()) as Array<{ id: string; status: string; attempts: number; lastError: string | null }>
  assert.equal(rows.length, BURST + 1)
  assert.deepEqual(
    rows.filter((row) => row.status !== 'delivered' || row.attempts !== 1),
    [],
    'every delivery went through at its first attempt',
  )
})

/** A migrated SQLite store in a fresh directory, disconnected after the file's tests. */
async function freshSqlite(name: string) {
  const url = `file:${tempDir()}/${name}.db`
  await migrate(url)
  const db = await openClient(url)
  cleanups.push(() => db.$disconnect())
  return db
}

test('events recorded together share transactions, in the order they were recorded, each resolved once committed', async () => {
  const db = await freshSqlite('events')
  const limit = 50
  const log = new EventLog(db, 'default', limit, new Outbox(db, 'default'))
  log.useOutbox({ targets: () => [pendingTarget('w1')] })
  // The real transactions (plain SQL on the client's connection: src/store/raw-sql.ts), counted.
  let transactions = 0
  const raw = rawSqlOf(db)
  const transaction = raw.transaction.bind(raw)
  Object.assign(raw, {
    transaction: (...args: Parameters<typeof transaction>) => {
      transactions++
      return transaction(...args)
    },
  })

  const recorded = await Promise.all(Array.from({ length: 100 }, (_, i) => log.record('message', sampleMessage(i))))
  const ids = recorded.map((event) => event.id)
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ids follow the order of record()')
  assert.equal(new Set(ids).size, 100)
  // The first is written alone (nothing was waiting yet); the 99 recorded meanwhile follow in batches.
  assert.equal(transactions, 1 + Math.ceil(99 / MAX_BATCH))
  const rows = await db.webhookDelivery.findMany({ orderBy: { seq: 'asc' }, select: { id: true } })
  assert.deepEqual(
    rows.map((row) => row.id),
    recorded.map((event) => event.deliveryId),
    'outbox rows in the same order',
  )
  const kept = await log.list({ limit: 1000 })
  assert.equal(kept.length, limit, 'the log is trimmed to its cap')
  assert.equal(kept[0]!.id, ids.at(-1))

  // One after the other: one transaction each, as before.
  transactions = 0
  for (let i = 0; i < 3; i++) await log.record('message', sampleMessage(100 + i))
  assert.equal(transactions, 3)

  // A batch that fails rejects each of its events, and the next batch is written.
  const counted = raw.transaction
  Object.assign(raw, { transaction: () => Promise.reject(new Error('disk on fire')) })
  const failing = log.record('message', sampleMessage(200))
  await assert.rejects(failing, /disk on fire/)
  Object.assign(raw, { transaction: counted })
  const next = await log.record('message', sampleMessage(201))
  assert.ok(next.id > ids.at(-1)!)
})

test('the installed Baileys queues live message stanzas and yields between them; the patch step is idempotent, leaves the receipt patch alone and refuses code it does not know', () => {
  assert.equal(inspectBaileysLiveQueue(), 'patched', 'npm install (postinstall) and every build patched node_modules')
  const halves = BAILEYS_PATCHES.filter((patch) => patch.name.startsWith('live '))
  assert.equal(halves.length, 2)
  const copy = path.join(tempDir('wsgo-patch-'), 'messages-recv.js')
  const patched = readFileSync(BAILEYS_MESSAGES_RECV_FILE, 'utf8')
  // Back to the text Baileys ships for this patch only: patched again, then left alone, the receipt patch untouched.
  writeFileSync(copy, halves.reduce((text, patch) => text.replace(patch.patched, patch.original), patched))
  assert.equal(inspectBaileysLiveQueue(copy), 'original')
  assert.equal(inspectBaileysReceipts(copy), 'patched')
  assert.equal(patchBaileysLiveQueue(copy), 'patched')
  assert.equal(readFileSync(copy, 'utf8'), patched)
  assert.equal(patchBaileysLiveQueue(copy), 'already patched')
  // An install patched by an earlier version of the patch (a turn after every stanza, whatever the
  // application says) is patched over to the current one.
  const [queueHalf] = halves
  for (const earlier of queueHalf!.earlier ?? []) {
    writeFileSync(copy, patched.replace(queueHalf!.patched, earlier))
    assert.equal(inspectBaileysLiveQueue(copy), 'earlier')
    assert.equal(patchBaileysLiveQueue(copy), 'patched')
    assert.equal(readFileSync(copy, 'utf8'), patched)
  }
  assert.ok((queueHalf!.earlier ?? []).length > 0, 'the earlier text is kept, so existing installs upgrade')
  // Half of it (one half as shipped, the other patched) is reported, not passed over.
  writeFileSync(copy, patched.replace(halves[1]!.patched, halves[1]!.original))
  assert.throws(() => inspectBaileysLiveQueue(copy), /half patched/)
  // A Baileys whose processNode changed is not patched blindly: the build fails and says so.
  writeFileSync(copy, patched.replace(halves[1]!.patched, halves[1]!.original.replace('!!node.attrs.offline', "node.attrs.offline === 'true'")))
  assert.throws(() => patchBaileysLiveQueue(copy), /live message stanzas routed to that queue/)
})

test('SQLite statements give the event loop turns, a slice of statements per turn rather than one', async () => {
  const db = await freshSqlite('slices')
  const STATEMENTS = 2_000
  // A chain of statements, each awaited, as the ingest queue runs them; turns of the loop counted meanwhile.
  let turns = 0
  let running = true
  const ticker = () => {
    if (!running) return
    turns++
    setImmediate(ticker)
  }
  setImmediate(ticker)
  for (let i = 0; i < STATEMENTS; i++) await db.$queryRaw`SELECT ${i} AS "n"`
  running = false
  // Without turns (better-sqlite3 answers synchronously) the ticker would not run at all meanwhile.
  assert.ok(turns > 1, `the loop got turns during ${STATEMENTS} statements (${turns})`)
  // A turn before every statement made a chain wait a loop iteration per statement (issue 18 #2).
  assert.ok(turns < STATEMENTS / 2, `several statements per turn (${turns} turns for ${STATEMENTS})`)
})

test("Baileys' event buffer reads the buffered upserts' type without copying them all, and still flushes them first when the type changes", async () => {
  const patch = BAILEYS_PATCHES.find((each) => each.file === BAILEYS_EVENT_BUFFER_FILE)
  assert.ok(patch, 'the event-buffer patch is one of the patches')
  const installed = readFileSync(BAILEYS_EVENT_BUFFER_FILE, 'utf8')
  assert.ok(installed.includes(patch.patched) && !installed.includes(patch.original), 'npm install (postinstall) and every build patched node_modules')
  // What the patch must keep: buffered "notify" upserts go out, in order and with their type, before
  // an "append" upsert is buffered; a steady stream of one type stays buffered until the flush.
  const { makeEventBuffer } = await import('@whiskeysockets/baileys')
  const silent = { level: 'silent', child: () => silent, trace() {}, debug() {}, info() {}, warn() {}, error() {} }
  const ev = makeEventBuffer(silent as never)
  const heard: Array<{ type: string; ids: string[] }> = []
  ev.on('messages.upsert', ({ type, messages }) => heard.push({ type, ids: messages.map((m) => m.key.id!) }))
  const upsert = (id: string, type: 'notify' | 'append') =>
    ev.emit('messages.upsert', { type, messages: [{ key: { remoteJid: `${ALICE.phone}@s.whatsapp.net`, id, fromMe: false }, messageTimestamp: 1, message: { conversation: id } }] })
  ev.buffer()
  for (let i = 0; i < 50; i++) upsert(`n${i}`, 'notify')
  assert.equal(heard.length, 0, "one type: still buffered")
  upsert('a0', 'append')
  assert.equal(heard.length, 1)
  assert.equal(heard[0]!.type, 'notify')
  assert.deepEqual(heard[0]!.ids, Array.from({ length: 50 }, (_, i) => `n${i}`))
  ev.flush()
  assert.deepEqual(heard.slice(1), [{ type: 'append', ids: ['a0'] }])
  // Buffered upserts deleted before the flush leave nothing to send when the type changes: no empty upsert.
  heard.length = 0
  ev.buffer()
  upsert('n-gone', 'notify')
  ev.emit('messages.delete', { keys: [{ remoteJid: `${ALICE.phone}@s.whatsapp.net`, id: 'n-gone', fromMe: false }] })
  upsert('a1', 'append')
  ev.flush()
  assert.deepEqual(heard, [{ type: 'append', ids: ['a1'] }])
})

test('work waiting for the slice together goes a slice per turn: hundreds of timers firing at once do not make one long turn', async () => {
  const patch = BAILEYS_PATCHES.find((each) => each.file === BAILEYS_MESSAGES_SEND_FILE)
  assert.ok(patch, 'the outgoing-message patch is one of the patches')
  const installed = readFileSync(BAILEYS_MESSAGES_SEND_FILE, 'utf8')
  assert.ok(installed.includes(patch.patched) && !installed.includes(patch.original), 'npm install (postinstall) and every build patched the encryptions')
  // As Baileys' resend requests: 300 of them resumed in the same turn (their timers due together),
  // each waiting for the slice, then 1 ms of synchronous work (an encryption). The longest stretch
  // without a turn of the loop is measured.
  const PIECES = 300
  const busy = (ms: number) => {
    const until = performance.now() + ms
    while (performance.now() < until) {
      // encrypting
    }
  }
  let longest = 0
  let last = performance.now()
  let running = true
  const ticker = () => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
    if (running) setImmediate(ticker)
  }
  const due = new Promise<void>((resolve) => setTimeout(resolve, 5))
  const done = Promise.all(Array.from({ length: PIECES }, async () => {
    await due
    await waitForSlice()
    busy(1)
  }))
  setImmediate(ticker)
  await done
  // The ticker measures the turn the last piece ran in at its next run.
  await new Promise((resolve) => setImmediate(resolve))
  running = false
  // All at once, the turn would be PIECES ms; a slice per turn is SLICE_MS and the piece that crosses it.
  assert.ok(longest < PIECES / 3, `the longest turn was ${longest.toFixed(1)} ms for ${PIECES} pieces of 1 ms (slice ${SLICE_MS} ms)`)
})

/**
 * A WebSocket server on a thread of its own (so that writing is not a turn of this thread's) that
 * sends `messages` of 4 KB at once to whoever connects, and Baileys' own WebSocket client connected
 * to it, paced, with `handler` in the place of Baileys' handler. The backlog waits in the socket
 * before the client reads it, as when WhatsApp hands one over. Returns what was handled, in order,
 * the longest turn of the loop meanwhile, and the most messages read but not yet handled.
 */
/** A WebSocket server on its own thread that sends each client `messages` messages of 4 KB at once. */
async function startBacklogServer(messages: number): Promise<{ server: Worker; port: number }> {
  const server = new Worker(
    `
    const { parentPort } = require('node:worker_threads')
    const { WebSocketServer } = require(${JSON.stringify(createRequire(import.meta.url).resolve('ws'))})
    const server = new WebSocketServer({ host: '127.0.0.1', port: 0 }, () => parentPort.postMessage(server.address().port))
    server.on('connection', (peer) => {
      for (let i = 0; i < ${messages}; i++) peer.send(Buffer.alloc(4096, i % 256))
    })
  `,
    { eval: true },
  )
  const [port] = (await once(server, 'message')) as [number]
  return { server, port }
}

async function pacedBacklog(messages: number, handler: (data: Buffer) => Promise<void>) {
  const { WebSocketClient } = await import('@whiskeysockets/baileys/lib/Socket/Client/websocket.js')
  const { server, port } = await startBacklogServer(messages)
  const client = new WebSocketClient(new URL(`ws://127.0.0.1:${port}`), { connectTimeoutMs: 10_000 } as never)
  const socket = () => (client as unknown as { socket: import('ws').WebSocket }).socket
  try {
    const seen: number[] = []
    client.on('message', async (data: Buffer) => {
      await handler(data)
      seen.push(data[0]!)
    })
    client.connect()
    const errors: unknown[] = []
    assert.equal(paceFrames(client as unknown as FrameSource, (error) => errors.push(error)), true, "Baileys' client is paced")
    await once(client, 'open')
    socket().pause()
    await new Promise((resolve) => setTimeout(resolve, 300))
    let arrived = 0
    let mostWaiting = 0
    socket().on('message', () => {
      arrived++
      mostWaiting = Math.max(mostWaiting, arrived - seen.length)
    })
    let longest = 0
    let last = performance.now()
    let turns = 0
    const ticker = () => {
      const now = performance.now()
      longest = Math.max(longest, now - last)
      last = now
      turns++
      if (seen.length < messages) setImmediate(ticker)
    }
    setImmediate(ticker)
    socket().resume()
    await waitUntil('every message handled', async () => (seen.length === messages ? true : undefined), 60_000, 5)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(errors, [])
    return { seen, longest, turns, mostWaiting }
  } finally {
    socket()?.terminate()
    await server.terminate()
  }
}

test('a socket ended while it was not read is read again, so its close completes at once', async () => {
  const { WebSocketClient } = await import('@whiskeysockets/baileys/lib/Socket/Client/websocket.js')
  const { server, port } = await startBacklogServer(1_500)
  const client = new WebSocketClient(new URL(`ws://127.0.0.1:${port}`), { connectTimeoutMs: 10_000 } as never)
  const socket = () => (client as unknown as { socket: import('ws').WebSocket | null }).socket
  try {
    let handled = 0
    // A handler slower than reading: the queue fills up and the socket is paused.
    client.on('message', () => new Promise<void>((resolve) => setTimeout(() => (handled++, resolve()), 1)))
    client.connect()
    assert.equal(paceFrames(client as unknown as FrameSource, () => {}), true)
    await once(client, 'open')
    const paused = () => (socket() as unknown as { isPaused: boolean } | null)?.isPaused
    await waitUntil('the socket to be paused', async () => (paused() ? true : undefined), 10_000, 5)
    // Ended as Baileys' end() does it: its listeners go, then it waits for the close handshake.
    client.removeAllListeners('message')
    const began = Date.now()
    const closed = await Promise.race([client.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 5_000))])
    assert.equal(closed, 'closed', `the close handshake had not completed after 5 s (ws gives up after 30 s); ${handled} messages handled`)
    assert.ok(Date.now() - began < 5_000)
  } finally {
    socket()?.terminate()
    await server.terminate()
  }
})

test('what WhatsApp sends is handled at the slice\'s pace: a backlog that arrived at once goes over many turns, in order', async () => {
  const MESSAGES = 3_000
  // 0.2 ms of synchronous work per message (deciphering, parsing), as Baileys' handler.
  const { seen, longest, turns } = await pacedBacklog(MESSAGES, async () => {
    const until = performance.now() + 0.2
    while (performance.now() < until) {
      // deciphering
    }
  })
  assert.deepEqual(seen, Array.from({ length: MESSAGES }, (_, i) => i % 256), 'every message, in order')
  // Handled as read, a turn is what libuv reads at once (up to 2 MB: 100 ms and more here); paced,
  // a slice and the message that crosses it.
  assert.ok(longest < 60, `the longest turn was ${longest.toFixed(1)} ms for ${MESSAGES} messages of 0.2 ms (slice ${SLICE_MS} ms)`)
  assert.ok(turns > 10, `handled over ${turns} turns`)
})

test('while too many of what WhatsApp sent wait to be handled, the socket is not read; a client that is not Baileys\' is left alone', async () => {
  const MESSAGES = 1_500
  // A handler that waits rather than works (as one waiting for the store): reading outpaces it.
  const { seen, mostWaiting } = await pacedBacklog(MESSAGES, () => new Promise((resolve) => setImmediate(resolve)))
  assert.equal(seen.length, MESSAGES)
  assert.ok(mostWaiting > MAX_WAITING_FRAMES / 2, `the queue filled up (${mostWaiting})`)
  // What arrives after the pause is the rest of one 64 KB read.
  assert.ok(mostWaiting <= MAX_WAITING_FRAMES + 16, `at most ${mostWaiting} messages waited (cap ${MAX_WAITING_FRAMES})`)
  const { WebSocketClient } = await import('@whiskeysockets/baileys/lib/Socket/Client/websocket.js')
  const other = new WebSocketClient(new URL('ws://127.0.0.1:9'), {} as never)
  assert.equal(paceFrames(other as unknown as FrameSource, () => {}), false)
})
