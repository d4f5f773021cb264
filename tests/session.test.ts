// The WhatsApp session through real Baileys and the local stand-in: pairing, restart, unlink,
// conflict, dropped connections, incoming messages, logout, concurrent reconnects.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { BufferJSON, type AuthenticationCreds } from '@whiskeysockets/baileys'
import { ALICE, OWN, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

let harness: WhatsAppHarness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

async function start(env: Record<string, string> = {}) {
  harness = await startWithStandIn(env)
  return harness
}

const storedCreds = async (h: WhatsAppHarness) => {
  const row = await h.service.db.authKey.findUnique({ where: { session_type_id: { session: 'default', type: 'creds', id: 'me' } } })
  return row ? (JSON.parse(row.value, BufferJSON.reviver) as AuthenticationCreds) : undefined
}
const eventsOf = async (h: WhatsAppHarness, type: string) =>
  (await (await fetch(`${h.url}/api/events?type=${type}`)).json()) as Array<{ id: number; data: Record<string, unknown> }>

test('pairing from a fresh store: QR, scan, 515 restart, open, creds persisted', async () => {
  const h = await start()
  const before = await h.waitForStatus((s) => s.state === 'qr')
  assert.deepEqual({ connected: before.connected, loggedIn: before.loggedIn, device: before.device }, { connected: true, loggedIn: false, device: '' })
  const qrEvents = await eventsOf(h, 'qr')
  assert.ok(qrEvents.length >= 1, 'the QR was logged as an event')

  await h.pair({ pushName: 'My Business', platform: 'smba' })
  const status = await h.waitForStatus((s) => s.loggedIn)
  assert.deepEqual(status, {
    connected: true,
    loggedIn: true,
    device: OWN.device,
    pushName: 'My Business',
    platform: 'smba',
    state: 'open',
    lastDisconnect: null,
  })
  const creds = await waitUntil('the creds with the paired identity', async () => {
    const c = await storedCreds(h)
    return c?.me?.id ? c : undefined
  })
  assert.equal(creds.me?.id, OWN.device)
  assert.ok((await h.service.db.authKey.count({ where: { type: 'pre-key' } })) > 0, 'pre-keys are stored as rows')
  // Recorded in order after what arrived first (the phone's first messages are stored as they come).
  const connected = await waitUntil('the connected event', async () => ((await eventsOf(h, 'connected')).length ? eventsOf(h, 'connected') : undefined))
  assert.equal(connected[0]?.data.device, OWN.device)
  const qr = await fetch(`${h.url}/api/qr`)
  assert.equal(qr.status, 409)
  assert.equal(((await qr.json()) as { code: string }).code, 'ALREADY_PAIRED')
})

test('a restart of the service logs in again without a QR', async () => {
  const h = await start()
  await h.pair()
  const qrsBefore = (await eventsOf(h, 'qr')).length
  await h.restart()
  const status = await h.waitForStatus((s) => s.loggedIn)
  assert.equal(status.device, OWN.device)
  assert.equal((await eventsOf(h, 'qr')).length, qrsBefore, 'no new QR after the restart')
  assert.equal((await eventsOf(h, 'connected')).length, 2)
})

test('the phone unlinking the device (401) wipes the auth rows and shows a new QR', async () => {
  const h = await start()
  await h.pair()
  h.standin.unlink()
  const status = await h.waitForStatus((s) => s.state === 'qr')
  assert.equal(status.loggedIn, false)
  assert.equal(status.device, '')
  assert.equal(status.lastDisconnect?.code, 401)
  const creds = await storedCreds(h)
  assert.equal(creds?.me, undefined, 'the stored creds are fresh ones, not the unlinked device')
  assert.equal(await h.service.db.authKey.count({ where: { type: 'session' } }), 0)
  const loggedOut = await eventsOf(h, 'logged_out')
  assert.match(String(loggedOut[0]?.data.reason), /unlinked/)
  assert.equal((await fetch(`${h.url}/api/qr`)).status, 200)
})

test('a stream conflict (440) stops without a reconnect loop', async () => {
  const h = await start()
  await h.pair()
  h.standin.conflict()
  const status = await h.waitForStatus((s) => s.state === 'closed')
  assert.equal(status.lastDisconnect?.code, 440)
  assert.match(status.lastDisconnect?.reason ?? '', /replaced/)
  await new Promise((resolve) => setTimeout(resolve, 1_000))
  assert.equal((await h.waitForStatus(() => true)).state, 'closed', 'still closed: no reconnect')
  assert.equal(h.standin.isConnected, false)
  assert.equal((await eventsOf(h, 'connected')).length, 1)
  const disconnected = await eventsOf(h, 'disconnected')
  assert.equal(disconnected[0]?.data.code, 440)

  // The user decides: an explicit reconnect takes the session back.
  assert.equal((await fetch(`${h.url}/api/reconnect`, { method: 'POST' })).status, 200)
  await h.waitForStatus((s) => s.loggedIn)
})

test('a dropped connection reconnects with backoff and logs in again', async () => {
  const h = await start()
  await h.pair()
  h.standin.drop()
  await h.waitForStatus((s) => s.state !== 'open')
  const status = await h.waitForStatus((s) => s.loggedIn)
  assert.equal(status.device, OWN.device)
  const disconnected = await eventsOf(h, 'disconnected')
  assert.equal(disconnected.length, 1)
  assert.equal(typeof disconnected[0]?.data.reconnectInMs, 'number')
  assert.equal((await eventsOf(h, 'connected')).length, 2)
})

test('an incoming message becomes exactly one log entry and one outbox row', async () => {
  const h = await start()
  await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'http://127.0.0.1:9/hook' }) })
  await h.pair()
  const id = await h.standin.sendText(ALICE, 'hello from Alice')
  const [event] = await waitUntil('the message event', async () => {
    const events = await eventsOf(h, 'message')
    return events.length ? events : undefined
  })
  assert.equal(event?.data.messageID, id)
  assert.deepEqual(
    { ...event?.data, timestamp: undefined },
    {
      from: `${ALICE.phone}@s.whatsapp.net`,
      chat: `${ALICE.phone}@s.whatsapp.net`,
      messageID: id,
      pushName: 'Alice',
      timestamp: undefined,
      text: 'hello from Alice',
      type: 'text',
      isGroup: false,
      fromLid: `${ALICE.lid}@lid`,
    },
  )
  await new Promise((resolve) => setTimeout(resolve, 300))
  const db = h.service.db
  assert.equal(await db.event.count({ where: { type: 'message' } }), 1)
  const deliveries = await db.webhookDelivery.findMany({ where: { event: 'message' } })
  assert.equal(deliveries.length, 1)
  assert.equal((JSON.parse(deliveries[0]!.payload) as { data: { messageID: string } }).data.messageID, id)
})

test('logout unpairs: WhatsApp is told, the auth rows go, a new QR shows', async () => {
  const h = await start()
  await h.pair()
  const res = await fetch(`${h.url}/api/logout`, { method: 'POST' })
  assert.equal(res.status, 200)
  assert.equal(((await res.json()) as { status: string }).status, 'logged_out')
  await h.waitForStatus((s) => s.state === 'qr')
  assert.equal((await storedCreds(h))?.me, undefined)
  assert.equal(await h.service.db.authKey.count({ where: { type: 'pre-key' } }), 0)
  assert.equal(h.standin.pairedDevice, undefined, 'the phone no longer lists the device')
  const loggedOut = await eventsOf(h, 'logged_out')
  assert.match(String(loggedOut[0]?.data.reason), /API/)
})

test('concurrent reconnect calls start one connection, not several', async () => {
  const h = await start()
  await h.pair()
  const results = await Promise.all(Array.from({ length: 5 }, () => fetch(`${h.url}/api/reconnect`, { method: 'POST' })))
  assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 200, 200])
  await h.waitForStatus((s) => s.loggedIn)
  await new Promise((resolve) => setTimeout(resolve, 500))
  assert.equal((await eventsOf(h, 'connected')).length, 2, 'one pairing connection and exactly one reconnect')
  assert.equal(h.standin.isConnected, true)
})
