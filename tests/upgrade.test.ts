// Upgrading in place from the previous release (migration 20261125142259_init: one account, no
// `session` column) to sessions (20261201094933_sessions), on SQLite and PostgreSQL. The old
// database is built the way that release left it: its schema only, a device paired through a real
// Baileys socket against the stand-in, and every row written in the old shape with plain SQL. The
// real service then starts on it, migrates it, and must carry on as the `default` session: logged
// in as the same device without a QR, its webhook, contacts, events and pending delivery intact,
// and messages flowing both ways over the Signal sessions it inherited.
import { after, afterEach, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { readdirSync } from 'node:fs'
import { createHmac, randomUUID } from 'node:crypto'
import { BufferJSON, proto } from '@whiskeysockets/baileys'
import pino from 'pino'
import { join, sqltag as sql } from '@prisma/client/runtime/client'
import { openClient, type Db } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { routeLibsignalConsole } from '../src/session/quiet-logger.js'
import { startStandIn, releaseBaileysTimers, type PairedDevice, type StandIn } from './standin/index.js'
import { pairNewDevice, type TestDevice } from './standin/test-device.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'
import { Receiver } from './support/receiver.js'
import { startTestService, type TestService } from './support/service.js'
import { ALICE, BOB, OWN, waitUntil, type Status } from './support/whatsapp.js'

const PREVIOUS_RELEASE = '20261125142259_init'
const SESSIONS = '20261201094933_sessions'
/** Stored messages and chats (issue 17). */
const MESSAGES = '20261201124832_messages'
/** Media, the last migration before several webhooks per session (issue 16). */
const MEDIA = '20261201135457_media'
/** Several webhooks per session (issue 16). */
const WEBHOOKS = '20261201135704_webhooks'
// The old webhook Setting is the first Webhook row now (src/webhooks/session-webhooks.ts).
const SESSION_TABLES = ['AuthKey', 'Webhook', 'Contact', 'LidMapping', 'Event', 'WebhookDelivery', 'SentMessage', 'Message', 'Chat'] as const
const ALICE_PN = `${ALICE.phone}@s.whatsapp.net`
const ALICE_LID = `${ALICE.lid}@lid`
const BOB_PN = `${BOB.phone}@s.whatsapp.net`
const BOB_LID = `${BOB.lid}@lid`
const OLD_SECRET = 'whsec_previous_release'

// Awaited before any test is declared: the runner must see every test and hook at once.
const databases = await testDatabases()
after(stopTestDatabases)
afterEach(releaseBaileysTimers)
// libsignal prints whole sessions (keys included) on the console; the service routes those lines to
// its logger once it starts, the bare socket playing the old release would print them.
routeLibsignalConsole(pino({ level: 'silent' }))

type LoggedEvent = { id: number; type: string; timestamp: string; data: Record<string, unknown> }
type ContactView = { jid: string; lid: string | null; phone: string | null; name: string | null; notify: string | null; verifiedName: string | null }

/** What the previous release's event log held for an incoming text (its webhook payload's `data`). */
function messageData(id: string, text: string, at: Date) {
  return { from: ALICE_PN, chat: ALICE_PN, messageID: id, pushName: ALICE.pushName, timestamp: at.toISOString(), text, isGroup: false, type: 'text', fromLid: ALICE_LID }
}

interface OldRelease {
  /** The stand-in's record of the linked device, as pairing left it. */
  paired: PairedDevice
  /** [type, id] of every auth row written. */
  authKeys: Array<[string, string]>
  /** The old log's rows, oldest first, as GET /api/events must list them. */
  events: Array<{ id: number; type: string; timestamp: string; data: Record<string, unknown> }>
  pendingDelivery: { id: string; payload: string }
  deliveredDelivery: string
  /** A message the old device sent to Alice (kept in SentMessage for retry requests). */
  sent: { id: string; text: string }
}

/**
 * The previous release at work: a device paired over a bare Baileys socket, a message received from
 * Alice and one sent to her, the socket closed cleanly, and then everything that release kept
 * written into its tables in their old shape.
 */
async function runPreviousRelease(url: string, standin: StandIn, webhookUrl: string): Promise<OldRelease> {
  const device: TestDevice = await pairNewDevice(standin, {}, { pushName: 'My Business', platform: 'smba' })
  const paired = standin.pairedDevice!
  assert.equal(device.creds.me?.id, OWN.device)

  // A Signal session both ways with Alice: her first message (pkmsg) and a reply.
  const receivedId = await standin.sendText(ALICE, 'before the upgrade')
  await device.waitFor('messages.upsert', ({ messages }) => messages.some((m) => m.key.id === receivedId))
  await standin.waitForReceipt(receivedId)
  const sentText = 'sent before the upgrade'
  const sent = await device.socket!.sendMessage(ALICE_PN, { text: sentText })
  assert.ok(sent?.key.id && sent.message)
  await standin.waitForOutgoing((m) => m.id === sent.key.id && m.text === sentText)
  await device.end()

  // Exactly what the old AuthStore wrote: creds as ('creds', 'me'), each key as (type, id), values BufferJSON text.
  const keys = JSON.parse(device.keys.serialize(), BufferJSON.reviver) as Record<string, unknown>
  const authRows: Array<[string, string, string]> = [['creds', 'me', JSON.stringify(device.creds, BufferJSON.replacer)]]
  for (const [key, value] of Object.entries(keys)) {
    const slash = key.indexOf('/')
    authRows.push([key.slice(0, slash), key.slice(slash + 1), JSON.stringify(value, BufferJSON.replacer)])
  }
  const types = new Set(authRows.map(([type]) => type))
  for (const type of ['creds', 'pre-key', 'session']) assert.ok(types.has(type), `the paired device has ${type} rows (${[...types].join(', ')})`)

  const db = await openClient(url)
  try {
    const now = new Date()
    const minutesAgo = (n: number) => new Date(now.getTime() - n * 60_000)
    for (let i = 0; i < authRows.length; i += 500) {
      const chunk = authRows.slice(i, i + 500).map(([type, id, value]) => sql`(${type}, ${id}, ${value}, ${now})`)
      await db.$executeRaw`INSERT INTO "AuthKey" ("type", "id", "value", "updatedAt") VALUES ${join(chunk)}`
    }
    const webhook = JSON.stringify({ url: webhookUrl, events: ['message'], secret: OLD_SECRET })
    await db.$executeRaw`INSERT INTO "Setting" ("key", "value", "updatedAt") VALUES ('webhook', ${webhook}, ${now})`
    // Alice by number (from the address book), Bob by LID only, with the mapping that names his number.
    await db.$executeRaw`INSERT INTO "Contact" ("jid", "lid", "phone", "name", "notify", "verifiedName", "updatedAt")
      VALUES (${ALICE_PN}, ${ALICE_LID}, ${ALICE.phone}, 'Alice Archer', ${ALICE.pushName}, NULL, ${now}),
             (${BOB_LID}, NULL, NULL, NULL, ${BOB.pushName}, NULL, ${now})`
    await db.$executeRaw`INSERT INTO "LidMapping" ("lid", "pn", "updatedAt") VALUES (${ALICE_LID}, ${ALICE_PN}, ${now}), (${BOB_LID}, ${BOB_PN}, ${now})`

    const logged: Array<{ type: string; at: Date; data: Record<string, unknown> }> = [
      { type: 'qr', at: minutesAgo(10), data: { qr: 'https://wa.me/settings/linked_devices#2@previous-release' } },
      { type: 'connected', at: minutesAgo(9), data: { device: OWN.device, pushName: 'My Business' } },
      { type: 'message', at: minutesAgo(8), data: messageData(randomUUID(), 'an old hello', minutesAgo(8)) },
      { type: 'message', at: minutesAgo(1), data: messageData(receivedId, 'before the upgrade', minutesAgo(1)) },
    ]
    for (const event of logged) await db.$executeRaw`INSERT INTO "Event" ("type", "data", "createdAt") VALUES (${event.type}, ${JSON.stringify(event.data)}, ${event.at})`
    const ids = await db.$queryRaw<Array<{ id: number | bigint }>>`SELECT "id" FROM "Event" ORDER BY "id"`
    const events = logged.map((event, i) => ({ id: Number(ids[i]!.id), type: event.type, timestamp: event.at.toISOString(), data: event.data }))

    // The old hello reached the webhook; the last message was still waiting when the old release stopped.
    const deliveredDelivery = randomUUID()
    const delivered = JSON.stringify({ event: 'message', data: logged[2]!.data })
    await db.$executeRaw`INSERT INTO "WebhookDelivery" ("id", "event", "payload", "status", "attempts", "lastStatus", "createdAt", "nextAttemptAt", "deliveredAt")
      VALUES (${deliveredDelivery}, 'message', ${delivered}, 'delivered', 1, 200, ${minutesAgo(8)}, ${minutesAgo(8)}, ${minutesAgo(8)})`
    const pendingDelivery = { id: randomUUID(), payload: JSON.stringify({ event: 'message', data: logged[3]!.data }) }
    await db.$executeRaw`INSERT INTO "WebhookDelivery" ("id", "event", "payload", "status", "createdAt", "nextAttemptAt")
      VALUES (${pendingDelivery.id}, 'message', ${pendingDelivery.payload}, 'pending', ${minutesAgo(1)}, ${minutesAgo(1)})`

    const content = Buffer.from(proto.Message.encode(sent.message!).finish())
    await db.$executeRaw`INSERT INTO "SentMessage" ("id", "jid", "content", "createdAt") VALUES (${sent.key.id}, ${ALICE_PN}, ${content}, ${now})`
    // The single-connection lease of an old process that is gone, not yet expired.
    await db.$executeRaw`INSERT INTO "Lease" ("name", "owner", "expiresAt") VALUES ('whatsapp-connection', 'old-host:4242:0ldr3l3a', ${new Date(now.getTime() + 60_000)})`

    return {
      paired,
      authKeys: authRows.map(([type, id]) => [type, id]),
      events,
      pendingDelivery,
      deliveredDelivery,
      sent: { id: sent.key.id!, text: sentText },
    }
  } finally {
    await db.$disconnect()
  }
}

async function appliedMigrations(db: Db): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<Array<{ migration_name: string }>>(
    'SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL ORDER BY migration_name',
  )
  return rows.map((row) => row.migration_name)
}

for (const database of databases) {
  describe(`upgrade from the previous release on ${database.provider}`, { skip: database.skip }, () => {
    test('the old database is migrated in place and its paired device carries on as the default session, no QR', { timeout: 60_000 }, async () => {
      const cleanups: Array<() => Promise<unknown>> = []
      try {
        // 1. The previous release's schema, nothing newer.
        const url = await database.fresh()
        assert.deepEqual(await migrate(url, { upTo: PREVIOUS_RELEASE }), [PREVIOUS_RELEASE])
        assert.deepEqual(await migrate(url, { upTo: PREVIOUS_RELEASE }), [], 'nothing left to apply up to the previous release')

        // 2. The previous release pairs and works, then stops. The stand-in logs every stanza, to
        // tell later which kind of Signal message reached the device.
        const stanzas: string[] = []
        const standin = await startStandIn({ log: (line) => stanzas.push(line) })
        cleanups.push(() => standin.close())
        const receiver = await Receiver.start()
        cleanups.push(() => receiver.close())
        const old = await runPreviousRelease(url, standin, receiver.url)
        const oldMaxEventId = Math.max(...old.events.map((e) => e.id))

        // 3. The new release starts on that database, pointed at the same WhatsApp.
        const connectionsBefore = standin.clientVersions().length
        const { fetchAgent, options } = standin.socketOptions
        const service: TestService = await startTestService(
          { DATABASE_URL: url, WA_WS_URL: standin.url, SEND_MIN_GAP_MS: '0', RECONNECT_MIN_MS: '50', RECONNECT_MAX_MS: '500' },
          { socketOptions: { fetchAgent, options, connectTimeoutMs: 5_000 } },
        )
        cleanups.push(() => service.close())
        const api = async <T>(path: string, init?: RequestInit): Promise<T> => {
          const res = await fetch(`${service.url}${path}`, init)
          if (res.status !== 200) assert.fail(`${path}: ${res.status} ${await res.text()}`)
          return (await res.json()) as T
        }

        // Every later migration, whichever were added since (sessions, messages, media, webhooks, ...).
        const all = readdirSync(new URL(`../prisma/${database.provider}/migrations/`, import.meta.url), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
        assert.deepEqual(all.slice(0, 5), [PREVIOUS_RELEASE, SESSIONS, MESSAGES, MEDIA, WEBHOOKS])
        assert.deepEqual(await appliedMigrations(service.db), all, 'the later migrations ran at start-up')

        // Logged in as the same linked device, by logging in: no registration, no QR.
        const status = await waitUntil('loggedIn', async () => {
          const s = await api<Status>('/api/status')
          return s.loggedIn ? s : undefined
        })
        assert.equal(status.device, OWN.device)
        assert.equal(status.state, 'open')
        assert.deepEqual(await standin.waitForLogin(), old.paired, 'the stand-in sees the same device log in')
        const connections = standin.clientVersions().slice(connectionsBefore)
        assert.ok(connections.length >= 1)
        assert.deepEqual(connections.map((c) => c.kind), connections.map(() => 'login'), 'only logins after the upgrade, no registration')
        assert.equal(standin.pairedDevice?.deviceId, old.paired.deviceId, 'still the one device paired')

        const sessions = await api<{ sessions: Array<{ name: string; loggedIn: boolean; device: string }>; next: string | null }>('/api/sessions')
        assert.deepEqual(
          sessions.sessions.map(({ name, loggedIn, device }) => ({ name, loggedIn, device })),
          [{ name: 'default', loggedIn: true, device: OWN.device }],
        )

        // The webhook setting, and the delivery the old release left pending, signed with its secret.
        const webhook = await api<{ url: string | null; events: string[] | null; secretSet: boolean }>('/api/webhook')
        assert.deepEqual({ url: webhook.url, events: webhook.events, secretSet: webhook.secretSet }, { url: receiver.url, events: ['message'], secretSet: true })
        await receiver.waitFor((requests) => requests.some((r) => r.deliveryId === old.pendingDelivery.id), 10_000, 'the old pending delivery')
        const resent = receiver.requests.find((r) => r.deliveryId === old.pendingDelivery.id)!
        assert.equal(resent.text, old.pendingDelivery.payload)
        assert.equal(resent.headers['x-wsgo-signature'], `sha256=${createHmac('sha256', OLD_SECRET).update(resent.body).digest('hex')}`)
        // It is the session's first (and only) webhook, with the old deliveries.
        const webhooks = await api<Array<{ id: string; url: string; first: boolean; secretSet: boolean }>>('/api/webhooks')
        assert.deepEqual(webhooks.map((w) => [w.url, w.first, w.secretSet]), [[receiver.url, true, true]])
        const oldRows = await service.db.webhookDelivery.findMany({ where: { id: { in: [old.pendingDelivery.id, old.deliveredDelivery] } }, select: { webhook: true } })
        assert.deepEqual(oldRows.map((row) => row.webhook), [webhooks[0]!.id, webhooks[0]!.id])
        assert.equal(await service.db.setting.count({ where: { key: 'webhook' } }), 0, 'the old setting is gone')

        // Contacts, with Bob's LID resolved through the old mapping.
        const contacts = await api<ContactView[]>('/api/contacts')
        assert.deepEqual(
          contacts.find((c) => c.jid === ALICE_PN),
          { jid: ALICE_PN, lid: ALICE_LID, phone: ALICE.phone, name: 'Alice Archer', notify: ALICE.pushName, verifiedName: null },
        )
        assert.deepEqual(
          contacts.find((c) => c.jid === BOB_PN),
          { jid: BOB_PN, lid: BOB_LID, phone: BOB.phone, name: null, notify: BOB.pushName, verifiedName: null },
        )

        // The old event log, unchanged, and what the upgraded session logged since: a connection, no QR.
        const loggedAfterStart = await api<LoggedEvent[]>('/api/events')
        assert.deepEqual(
          loggedAfterStart.filter((e) => e.id <= oldMaxEventId),
          [...old.events].reverse(),
        )
        const newer = loggedAfterStart.filter((e) => e.id > oldMaxEventId)
        assert.deepEqual(newer.filter((e) => e.type === 'qr'), [], 'no QR after the upgrade')
        assert.ok(newer.some((e) => e.type === 'connected' && e.data.device === OWN.device), JSON.stringify(newer))

        // Messages flow over the Signal sessions of the old release. Alice writes (a `msg` on her
        // existing session): it reaches the log and the webhook.
        const incomingId = await standin.sendText(ALICE, 'after the upgrade')
        const incoming = await waitUntil('the message in GET /api/events', async () =>
          (await api<LoggedEvent[]>('/api/events?type=message')).find((e) => e.data.messageID === incomingId),
        )
        assert.ok(incoming.id > oldMaxEventId, 'new events are numbered after the old ones')
        assert.deepEqual({ ...incoming.data, timestamp: undefined }, { ...messageData(incomingId, 'after the upgrade', new Date()), timestamp: undefined })
        await receiver.waitFor((requests) => requests.some((r) => r.text.includes(incomingId)), 10_000, 'the new message at the webhook')
        const hook = receiver.requests.find((r) => r.text.includes(incomingId))!
        assert.equal((JSON.parse(hook.text) as { data: { text: string } }).data.text, 'after the upgrade')
        assert.equal(hook.headers['x-wsgo-signature'], `sha256=${createHmac('sha256', OLD_SECRET).update(hook.body).digest('hex')}`)
        const delivered = stanzas.filter((line) => line.includes(`-> <message id='${incomingId}'`))
        assert.equal(delivered.length, 1, 'delivered once')
        assert.match(delivered[0]!, /<enc v='2' type='msg'>/, 'a msg on the inherited Signal session, not a pkmsg starting a new one')
        assert.deepEqual(
          standin.receipts().filter((r) => r.type === 'retry').map((r) => r.id),
          [],
          'the device decrypted everything: no retry receipts',
        )

        // Alice's phone lost the message the old release sent: the upgraded session re-sends it
        // from the SentMessage row it inherited.
        await standin.requestRetry(ALICE, old.sent.id)
        assert.deepEqual(
          standin.outbox().filter((m) => m.id === old.sent.id).map((m) => [m.copy, m.text]),
          [
            [1, old.sent.text],
            [2, old.sent.text],
          ],
        )
        // And it sends.
        const reply = await api<{ messageID: string }>('/api/send/text', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ phone: ALICE.phone, message: 'the upgrade went fine' }),
        })
        await standin.waitForOutgoing((m) => m.id === reply.messageID && m.text === 'the upgrade went fine')
        // Both are kept in Alice's chat, in order (the store starts with the upgrade).
        const history = await waitUntil('both messages in the chat', async () => {
          const page = await api<{ messages: Array<{ messageID: string; text: string }> }>(`/api/chats/${ALICE_PN}/messages`)
          return page.messages.some((m) => m.messageID === reply.messageID) ? page.messages : undefined
        })
        assert.deepEqual(history.map((m) => [m.messageID, m.text]), [[incomingId, 'after the upgrade'], [reply.messageID, 'the upgrade went fine']])

        // Each pending delivery reached the webhook once; the one delivered before the upgrade was not sent again.
        const deliveryIds = receiver.requests.map((r) => r.deliveryId)
        assert.equal(deliveryIds.filter((id) => id === old.pendingDelivery.id).length, 1)
        assert.equal(deliveryIds.includes(old.deliveredDelivery), false)
        assert.deepEqual(standin.errors(), [], 'the stand-in hit no errors')

        // Every row is the default session's; every old auth key is there; the old lease is gone.
        const db = service.db
        for (const table of SESSION_TABLES) {
          const rows = await db.$queryRawUnsafe<Array<{ session: string; n: unknown }>>(`SELECT "session", COUNT(*) AS n FROM "${table}" GROUP BY "session"`)
          assert.deepEqual(rows.map((row) => row.session), ['default'], `${table}: ${JSON.stringify(rows, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v))}`)
          assert.ok(Number(rows[0]!.n) > 0)
        }
        assert.deepEqual((await db.session.findMany()).map((s) => s.name), ['default'])
        assert.equal(await db.lease.count({ where: { name: 'whatsapp-connection' } }), 0)
        const authKeys = new Set((await db.authKey.findMany({ select: { type: true, id: true } })).map((k) => `${k.type}/${k.id}`))
        const missing = old.authKeys.map(([type, id]) => `${type}/${id}`).filter((key) => !authKeys.has(key))
        assert.deepEqual(missing, [], 'every auth row of the old release is the default session\'s')
      } finally {
        for (const cleanup of cleanups.reverse()) await cleanup()
      }
    })

    test('each session\'s single webhook setting becomes its first webhook, with its deliveries', { timeout: 60_000 }, async () => {
      const cleanups: Array<() => Promise<unknown>> = []
      try {
        const url = await database.fresh()
        assert.ok((await migrate(url, { upTo: MEDIA })).includes(MEDIA))
        const hook = await Receiver.start()
        cleanups.push(() => hook.close())
        // What the release before several webhooks left: a Setting per session, rows without a webhook id.
        const db = await openClient(url)
        const now = new Date()
        const pending = randomUUID()
        const failed = randomUUID()
        try {
          // 'default' was made by the sessions migration.
          await db.$executeRaw`INSERT INTO "Session" ("name", "createdAt") VALUES ('sales', ${now})`
          const defaultHook = JSON.stringify({ url: hook.url, events: ['message'], secret: OLD_SECRET })
          const salesHook = JSON.stringify({ url: null, events: null, secret: null, gone: true })
          await db.$executeRaw`INSERT INTO "Setting" ("session", "key", "value", "updatedAt") VALUES ('default', 'webhook', ${defaultHook}, ${now}), ('sales', 'webhook', ${salesHook}, ${now})`
          const payload = JSON.stringify({ event: 'message', data: messageData('OLD1', 'waiting', now) })
          await db.$executeRaw`INSERT INTO "WebhookDelivery" ("session", "id", "event", "payload", "status", "createdAt", "nextAttemptAt")
            VALUES ('default', ${pending}, 'message', ${payload}, 'pending', ${now}, ${now}), ('sales', ${failed}, 'message', ${payload}, 'failed', ${now}, ${now})`
        } finally {
          await db.$disconnect()
        }

        const service = await startTestService({ DATABASE_URL: url })
        cleanups.push(() => service.close())
        const api = async (path: string) => (await fetch(`${service.url}${path}`)).json() as Promise<any>
        const [mine] = (await api('/api/webhooks')) as Array<{ id: string; url: string; events: string[] | null; secretSet: boolean; first: boolean; pending: number }>
        assert.deepEqual([mine?.url, mine?.events, mine?.secretSet, mine?.first], [hook.url, ['message'], true, true])
        // The pending delivery goes out with its id, signed with the old secret both ways.
        await hook.waitFor((requests) => requests.some((r) => r.deliveryId === pending), 10_000, 'the old pending delivery')
        const sent = hook.requests.find((r) => r.deliveryId === pending)!
        assert.equal(sent.headers['x-wsgo-signature'], `sha256=${createHmac('sha256', OLD_SECRET).update(sent.body).digest('hex')}`)
        const timestamp = String(sent.headers['x-wsgo-timestamp'])
        assert.equal(sent.headers['x-wsgo-signature-v2'], `t=${timestamp},v1=${createHmac('sha256', OLD_SECRET).update(`${timestamp}.${sent.text}`).digest('hex')}`)
        // The other session's webhook, turned off by a 410, keeps that state and its record.
        const [sales] = (await api('/api/sessions/sales/webhooks')) as Array<{ id: string; url: string | null; failed: number }>
        assert.deepEqual([sales?.url, sales?.failed], [null, 1])
        const listed = (await api('/api/sessions/sales/webhook/deliveries?status=failed')) as Array<{ id: string; webhook: string }>
        assert.deepEqual(listed.map((d) => [d.id, d.webhook]), [[failed, sales!.id]])
        assert.equal(await service.db.setting.count({ where: { key: 'webhook' } }), 0, 'the old settings are gone')
        assert.equal(await service.db.webhookDelivery.count({ where: { webhook: '' } }), 0, 'every row has its webhook')
      } finally {
        for (const cleanup of cleanups.reverse()) await cleanup()
      }
    })
  })
}
