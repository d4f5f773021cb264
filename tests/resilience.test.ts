// What breaks today's WhatsApp APIs, proved against the stand-in through real Baileys.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
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
