// The send queue when the connection goes away under it: a send WhatsApp never answers must not
// hold the sends queued behind it until SEND_TIMEOUT_MS once a logout has replaced the socket they
// were meant for (issue 18, item 10).
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { SendQueue } from '../src/session/send-queue.js'
import { ALICE, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

let harness: WhatsAppHarness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

const SEND_TIMEOUT_MS = 30_000
const QUEUED = 40

const post = (url: string, body?: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) })

// With no gap the sends behind the stuck one start right after it; with the default gap each first
// waits its turn.
for (const gapMs of [0, 250]) test(`a logout fails a stuck send and every send queued behind it at once, with a 503 (gap ${gapMs} ms)`, async () => {
  const h = (harness = await startWithStandIn({ SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS), SEND_MIN_GAP_MS: String(gapMs) }))
  await h.pair()
  // The device does not know Alice's devices yet: the first send asks the server, which never answers.
  h.standin.ignoreQueries('usync')
  const sends = Array.from({ length: QUEUED }, (_, i) =>
    post(`${h.url}/api/send/text`, { phone: ALICE.phone, message: `queued ${i}` }).then(async (res) => ({
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      body: (await res.json()) as { code?: string; error?: string },
      at: Date.now(),
    })),
  )
  // Every send is queued (the first one stuck in the device lookup) before the logout.
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.equal(h.standin.outbox().length, 0, 'nothing was sent')

  const loggedOutAt = Date.now()
  const logout = await post(`${h.url}/api/logout`)
  assert.equal(logout.status, 200, await logout.clone().text())
  const answers = await Promise.all(sends)

  const slowest = Math.max(...answers.map((answer) => answer.at - loggedOutAt))
  assert.ok(slowest < 3_000, `every queued send answered ${slowest} ms after the logout (SEND_TIMEOUT_MS is ${SEND_TIMEOUT_MS})`)
  for (const answer of answers) {
    assert.equal(answer.status, 503, JSON.stringify(answer.body))
    assert.match(answer.type, /application\/json/)
    assert.equal(answer.body.code, 'NOT_CONNECTED')
    assert.match(answer.body.error ?? '', /connection closed|not connected/i)
  }

  // None of them goes out later on the next connection either: the callers were told it failed.
  h.standin.ignoreQueries()
  await h.waitForStatus((s) => s.state === 'qr')
  await h.pair()
  const after = await post(`${h.url}/api/send/text`, { phone: ALICE.phone, message: 'after the logout' })
  assert.equal(after.status, 200, await after.clone().text())
  await waitUntil('the new send to arrive', async () => h.standin.outbox().find((m) => m.text === 'after the logout'))
  assert.deepEqual(
    h.standin.outbox().map((m) => m.text),
    ['after the logout'],
  )
})

test('an interrupted send leaves no timer running, and the sends queued behind it never start', async () => {
  const timers = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length
  const before = timers()
  const queue = new SendQueue(0, SEND_TIMEOUT_MS)
  const started: string[] = []
  const stuck = queue.run(() => (started.push('stuck'), new Promise<never>(() => {})))
  const queued = queue.run(async () => (started.push('queued'), 'sent'))
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(started, ['stuck'])
  queue.interrupt(new Error('the socket closed'))
  await assert.rejects(stuck, /the socket closed/)
  await assert.rejects(queued, /the socket closed/)
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(started, ['stuck'], 'a send already answered as failed is not sent afterwards')
  assert.equal(timers(), before, 'the stuck send\'s timeout was cleared')
  // The queue goes on with the sends that came after the interrupt.
  assert.equal(await queue.run(async () => 'next'), 'next')
})
