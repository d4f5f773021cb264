// What breaks today's WhatsApp APIs, proved against the stand-in through real Baileys.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import type { WASocket } from '@whiskeysockets/baileys'
import { ALICE, BOB, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

let harness: WhatsAppHarness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

type Logged = { id: number; data: { from: string; fromLid?: string; chat: string; messageID: string; text: string } }
const messages = async (h: WhatsAppHarness) => (await (await fetch(`${h.url}/api/events?type=message`)).json()) as Logged[]
const messageEvent = (h: WhatsAppHarness, id: string) =>
  waitUntil(`the message ${id}`, async () => (await messages(h)).find((m) => m.data.messageID === id))

test('a LID-only sender is reported by phone number once the mapping is known, also after a restart', async () => {
  const h = (harness = await startWithStandIn())
  await h.pair()
  // Bob has never been seen: his LID-only message keeps the LID, and is not dropped.
  const unknown = await messageEvent(h, await h.standin.sendText(BOB, 'who am I?', { lidOnly: true }))
  assert.equal(unknown.data.from, `${BOB.lid}@lid`)
  assert.equal(unknown.data.fromLid, undefined)

  // Alice's first message carries her phone number alongside the LID: the pair is learnt.
  await messageEvent(h, await h.standin.sendText(ALICE, 'first, with my number'))
  const lidOnly = await messageEvent(h, await h.standin.sendText(ALICE, 'then LID only', { lidOnly: true }))
  assert.equal(lidOnly.data.from, `${ALICE.phone}@s.whatsapp.net`)
  assert.equal(lidOnly.data.chat, `${ALICE.phone}@s.whatsapp.net`)
  assert.equal(lidOnly.data.fromLid, `${ALICE.lid}@lid`)

  // The mapping is in the store: a restarted service still knows it before WhatsApp says anything.
  await h.restart()
  await h.waitForStatus((s) => s.loggedIn)
  const afterRestart = await messageEvent(h, await h.standin.sendText(ALICE, 'after the restart', { lidOnly: true }))
  assert.equal(afterRestart.data.from, `${ALICE.phone}@s.whatsapp.net`)

  // Bob's number arrives through the address book: his LID-only messages now name him by number,
  // and /api/contacts shows him once.
  await h.standin.pushContacts([{ phone: BOB.phone, name: 'Bob Jones', lid: BOB.lid }])
  type Contact = { jid: string; lid: string | null; name: string | null }
  const contactsNow = async () => (await (await fetch(`${h.url}/api/contacts`)).json()) as Contact[]
  await waitUntil('Bob in the contacts', async () => (await contactsNow()).find((c) => c.name === 'Bob Jones'))
  const known = await messageEvent(h, await h.standin.sendText(BOB, 'now you know me', { lidOnly: true }))
  assert.equal(known.data.from, `${BOB.phone}@s.whatsapp.net`)
  const contacts = await contactsNow()
  const bobs = contacts.filter((c) => c.jid === `${BOB.phone}@s.whatsapp.net` || c.lid === `${BOB.lid}@lid` || c.jid === `${BOB.lid}@lid`)
  assert.equal(bobs.length, 1, JSON.stringify(bobs))
  assert.equal(bobs[0]?.name, 'Bob Jones')
  assert.equal(bobs[0]?.lid, `${BOB.lid}@lid`)
})

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

test('a recipient asking for a message again ("Waiting for this message") gets it re-encrypted, also after a restart', async () => {
  const h = (harness = await startWithStandIn())
  await h.pair()
  const { messageID } = (await (await post(`${h.url}/api/send/text`, { phone: ALICE.phone, message: 'please read me' })).json()) as { messageID: string }
  await h.standin.waitForOutgoing((m) => m.id === messageID)
  // A restart empties Baileys' in-memory cache of recent messages: only the store can answer now.
  await h.restart()
  await h.waitForStatus((s) => s.loggedIn)
  await h.standin.requestRetry(ALICE, messageID)
  const copies = h.standin.outbox().filter((m) => m.id === messageID)
  assert.deepEqual(copies.map((m) => [m.copy, m.text]), [
    [1, 'please read me'],
    [2, 'please read me'],
  ])
  assert.ok(await h.service.db.sentMessage.findUnique({ where: { session_id: { session: 'default', id: messageID } } }))
})

test('group sends use the cached group metadata instead of asking WhatsApp every time', async () => {
  const h = (harness = await startWithStandIn())
  const GROUP = '120363000000000001@g.us'
  h.standin.setGroups([{ jid: GROUP, subject: 'Work Group', participants: [ALICE, BOB] }])
  await h.pair()
  // The group list fills the cache for every group at once: the sends ask nothing.
  assert.equal((await fetch(`${h.url}/api/groups`)).status, 200)
  for (const message of ['one', 'two']) assert.equal((await post(`${h.url}/api/send/group`, { group_jid: GROUP, message })).status, 200)
  assert.deepEqual(h.standin.groupQueries(GROUP), { metadata: 0, participating: 1 })
  // Without the list, the first send asks once and the next ones use the answer.
  const connection = await (await h.service.services.sessions.get('default')).connection()
  connection.groupMetadata.clear()
  for (const message of ['three', 'four']) assert.equal((await post(`${h.url}/api/send/group`, { group_jid: GROUP, message })).status, 200)
  assert.equal(h.standin.groupQueries(GROUP).metadata, 1)
  assert.equal(h.standin.outbox().filter((m) => m.isGroup).length, 4)
})

test('listing the groups changes nothing: no group.update events, and the metadata it fetched stays cached even when Baileys reports the fetch late', async () => {
  const h = (harness = await startWithStandIn())
  const GROUP = '120363000000000001@g.us'
  h.standin.setGroups([{ jid: GROUP, subject: 'Work Group', participants: [ALICE, BOB] }])
  await h.pair()
  const connection = await (await h.service.services.sessions.get('default')).connection()
  const { ev } = (connection as unknown as { socket: WASocket }).socket
  // Baileys reports every group it fetched as a 'groups.update'; while its event buffer is on (it is
  // while stanzas are being handled) that report comes after the list has filled the cache.
  ev.buffer()
  assert.equal((await fetch(`${h.url}/api/groups`)).status, 200)
  ev.flush()
  assert.equal((await post(`${h.url}/api/send/group`, { group_jid: GROUP, message: 'one' })).status, 200)
  assert.equal(h.standin.groupQueries(GROUP).metadata, 0, 'the send found the group in the cache')
  // A rename on a phone is a change, and is told.
  await h.standin.groups.fromPhone(h.standin.contact(BOB), GROUP, { subject: 'Renamed' })
  const events = await waitUntil('the rename', async () => {
    const logged = (await (await fetch(`${h.url}/api/events?type=group.update`)).json()) as Array<{ data: { subject?: string } }>
    return logged.some((event) => event.data.subject === 'Renamed') ? logged : undefined
  })
  assert.deepEqual(events.map((event) => event.data.subject), ['Renamed'], 'the list made no group.update')
})

test('a WhatsApp Web version WhatsApp rejects (405) is reported with what to set, without a reconnect loop', async () => {
  const h = (harness = await startWithStandIn({ WA_VERSION: '2.3000.1020000000' }))
  await h.pair()
  const presented = h.standin.clientVersions().at(-1)
  assert.deepEqual([presented?.primary, presented?.secondary, presented?.tertiary], [2, 3000, 1020000000], 'WA_VERSION is what Baileys presents')

  h.standin.rejectVersion(true)
  h.standin.drop()
  const status = await h.waitForStatus((s) => s.lastDisconnect?.code === 405)
  assert.equal(status.state, 'closed')
  assert.match(status.lastDisconnect!.reason, /WA_VERSION/)
  const attempts = h.standin.clientVersions().length
  await new Promise((resolve) => setTimeout(resolve, 1_500))
  assert.equal(h.standin.clientVersions().length, attempts, 'no further attempts')
  const disconnected = (await (await fetch(`${h.url}/api/events?type=disconnected`)).json()) as Array<{ data: { code?: number; reason: string } }>
  assert.equal(disconnected[0]?.data.code, 405)
  assert.match(disconnected[0]!.data.reason, /WA_VERSION/)
})

test('full history sync is off by default, yet contacts and LID mappings of the initial sync are kept', async () => {
  const h = (harness = await startWithStandIn())
  await h.pair()
  assert.equal(h.standin.registrationProps()?.requireFullSync, false)
  await h.standin.sendHistorySync({
    conversations: [{ id: `${BOB.phone}@s.whatsapp.net`, name: 'Bob from history' }],
    lidMappings: [{ pn: `${BOB.phone}@s.whatsapp.net`, lid: `${BOB.lid}@lid` }],
  })
  const bob = await waitUntil('Bob from the history sync', async () => {
    const contacts = (await (await fetch(`${h.url}/api/contacts`)).json()) as Array<{ jid: string; name: string | null }>
    return contacts.find((c) => c.jid === `${BOB.phone}@s.whatsapp.net` && c.name)
  })
  assert.equal(bob.name, 'Bob from history')
  const lidOnly = await messageEvent(h, await h.standin.sendText(BOB, 'mapped by history', { lidOnly: true }))
  assert.equal(lidOnly.data.from, `${BOB.phone}@s.whatsapp.net`)

  const full = await startWithStandIn({ WA_SYNC_FULL_HISTORY: 'true' })
  try {
    await full.waitForStatus((s) => s.state === 'qr')
    const qr = await (await fetch(`${full.url}/api/qr`)).text()
    await full.standin.scanQr(qr)
    assert.equal(full.standin.registrationProps()?.requireFullSync, true)
  } finally {
    await full.close()
  }
})
