// The events besides `message`, through real Baileys and the stand-in: receipts of what the service
// sent (`message.ack`: sent, delivered/read/played as the recipient's phone reports them), group
// changes made on a member's phone (`group.participants`, `group.update`, naming who did it), and a
// call offer (`call`), rejected on WhatsApp when REJECT_CALLS=true.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { Receiver } from './support/receiver.js'
import { ALICE, BOB, startWithStandIn, waitUntil } from './support/whatsapp.js'
import { sendReadReceipt } from './standin/message-changes.js'
import { offerCall, watchDeviceCalls } from './standin/calls.js'
import { getBinaryNodeChild } from '@whiskeysockets/baileys'

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const ALICE_PN = `${ALICE.phone}@s.whatsapp.net`
const BOB_PN = `${BOB.phone}@s.whatsapp.net`
const CAROL = { phone: '15550004444', lid: '88880004444', pushName: 'Carol' }
const GROUP = '120363000000000088@g.us'
type Delivered = { event: string; data: Record<string, unknown> }

async function start(env: Record<string, string> = {}) {
  const receiver = await Receiver.start()
  cleanups.push(() => receiver.close())
  const h = await startWithStandIn(env)
  cleanups.push(() => h.close())
  h.standin.setGroups([{ jid: GROUP, subject: 'Before', participants: [ALICE, BOB] }])
  const events = ['message.ack', 'group.participants', 'group.update', 'call']
  const set = await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url, events }) })
  assert.equal(set.status, 200)
  await h.pair()
  const delivered = (type: string) => receiver.requests.map((r) => JSON.parse(r.text) as Delivered).filter((e) => e.event === type)
  const waitFor = async (type: string, match: (data: Record<string, unknown>) => boolean) => {
    await receiver.waitFor(() => delivered(type).some((e) => match(e.data)), 10_000)
    return delivered(type).find((e) => match(e.data))!.data
  }
  return { h, receiver, delivered, waitFor }
}

test('receipts of sent messages, group changes and calls become their events', async () => {
  const { h, delivered, waitFor } = await start()

  // Receipts: WhatsApp's server ack, then the recipient's phone reads a text and plays a voice note.
  const res = await fetch(`${h.url}/api/send/text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: ALICE.phone, message: 'read me' }) })
  assert.equal(res.status, 200)
  const { messageID } = (await res.json()) as { messageID: string }
  await h.standin.waitForOutgoing((m) => m.id === messageID)
  const sent = await waitFor('message.ack', (d) => d.messageID === messageID && d.status === 'sent')
  assert.equal(sent.chat, ALICE_PN)
  // Alice's phone reports the delivery on its own; she reads it afterwards. (Receipts of one message
  // that Baileys handles at the same moment are merged, the later one winning: a read overtaken by
  // the delivery would be lost, so the test reads after the delivery, as a person does.)
  await waitFor('message.ack', (d) => d.messageID === messageID && d.status === 'delivered')
  sendReadReceipt(h.standin, messageID)
  const { timestamp, ...read } = await waitFor('message.ack', (d) => d.messageID === messageID && d.status === 'read')
  assert.deepEqual(read, { messageID, chat: ALICE_PN, status: 'read' })
  assert.match(String(timestamp), /^\d{4}-\d\d-\d\dT/)
  sendReadReceipt(h.standin, messageID, { type: 'played' })
  await waitFor('message.ack', (d) => d.messageID === messageID && d.status === 'played')

  // In a group, each member's receipt names the member (by phone number: Bob has written before,
  // so the service knows his LID's number).
  await h.standin.sendText(BOB, 'hi, I am Bob', { group: GROUP })
  await waitUntil('Bob\'s message', async () => {
    const events = (await (await fetch(`${h.url}/api/events?type=message`)).json()) as Array<{ data: { from: string } }>
    return events.some((e) => e.data.from === BOB_PN) ? true : undefined
  })
  const inGroup = await fetch(`${h.url}/api/send/group`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ group_jid: GROUP, message: 'hello all' }) })
  assert.equal(inGroup.status, 200)
  const groupMessage = ((await inGroup.json()) as { messageID: string }).messageID
  await h.standin.waitForOutgoing((m) => m.id === groupMessage)
  await waitFor('message.ack', (d) => d.messageID === groupMessage && d.status === 'delivered' && d.participant === BOB_PN)
  sendReadReceipt(h.standin, groupMessage, { member: h.standin.contact(BOB) })
  const member = await waitFor('message.ack', (d) => d.messageID === groupMessage && d.status === 'read')
  assert.deepEqual([member.chat, member.participant], [GROUP, BOB_PN])

  // Bob renames the group and adds Carol, from his phone.
  const bob = h.standin.contact(BOB)
  await h.standin.groups.fromPhone(bob, GROUP, { subject: 'After' })
  const renamed = await waitFor('group.update', (d) => d.group === GROUP && d.subject === 'After')
  assert.deepEqual(renamed, { group: GROUP, subject: 'After', by: BOB_PN })
  await h.standin.groups.fromPhone(bob, GROUP, { participants: 'add', who: [h.standin.contact(CAROL)] })
  const added = await waitFor('group.participants', (d) => d.group === GROUP && d.action === 'add')
  assert.deepEqual(added, { group: GROUP, action: 'add', participants: [`${CAROL.phone}@s.whatsapp.net`], by: BOB_PN })
  await h.standin.groups.fromPhone(bob, GROUP, { participants: 'promote', who: [h.standin.contact(CAROL)] })
  await waitFor('group.participants', (d) => d.group === GROUP && d.action === 'promote')

  // A call offer is announced and, REJECT_CALLS being off, not rejected.
  const calls = watchDeviceCalls(h.standin)
  const callID = offerCall(h.standin, h.standin.contact(ALICE), { video: true })
  const { timestamp: _at, ...call } = await waitFor('call', (d) => d.callID === callID)
  assert.deepEqual(call, { callID, from: ALICE_PN, status: 'offer', isVideo: true, isGroup: false })
  await new Promise((resolve) => setTimeout(resolve, 300))
  assert.deepEqual(calls().filter((c) => getBinaryNodeChild(c, 'reject')), [])
  assert.equal(delivered('call').length, 1)
})

test('with REJECT_CALLS=true a call offer is rejected on WhatsApp, and the event says so', async () => {
  const { h, waitFor } = await start({ REJECT_CALLS: 'true' })
  const calls = watchDeviceCalls(h.standin)
  const callID = offerCall(h.standin, h.standin.contact(ALICE))
  const call = await waitFor('call', (d) => d.callID === callID)
  assert.deepEqual([call.status, call.isVideo, call.rejected], ['offer', false, true])
  const reject = await waitUntil('the device to reject the call', async () => calls().map((c) => getBinaryNodeChild(c, 'reject')).find((r) => r?.attrs['call-id'] === callID))
  assert.equal(reject.attrs['call-creator'], `${ALICE.lid}@lid`)
})
