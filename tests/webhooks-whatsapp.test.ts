// From a contact's phone to the user's receiver: a message sent by the stand-in through real
// Baileys arrives at a real HTTP receiver with the contract's payload, the headers and a signature
// the receiver can verify.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { Receiver } from './support/receiver.js'
import { ALICE, BOB, startWithStandIn, type WhatsAppHarness } from './support/whatsapp.js'

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const GROUP = '120363000000000001@g.us'

test('incoming direct and group messages reach the webhook exactly as the contract says, signed', async () => {
  const receiver = await Receiver.start()
  cleanups.push(() => receiver.close())
  const h: WhatsAppHarness = await startWithStandIn()
  cleanups.push(() => h.close())
  h.standin.setGroups([{ jid: GROUP, subject: 'Work Group', participants: [ALICE, BOB] }])
  const set = await fetch(`${h.url}/api/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ url: `${receiver.url}/hook`, events: ['message'], secret: 'whsec_test' }),
  })
  assert.equal(set.status, 200)
  await h.pair()

  const direct = await h.standin.sendText(ALICE, 'Hello!')
  const inGroup = await h.standin.sendText(BOB, 'Hello group!', { group: GROUP })
  const caption = await h.standin.sendImage(ALICE, { caption: 'Check this out!' })
  await receiver.waitFor((requests) => requests.filter((r) => r.event === 'message').length >= 3, 10_000)

  const [first, second, third] = receiver.requests.filter((r) => r.event === 'message')
  const body = JSON.parse(first!.text) as { event: string; data: Record<string, unknown> }
  assert.deepEqual(Object.keys(body), ['event', 'data'])
  assert.equal(body.event, 'message')
  const { timestamp, ...data } = body.data
  assert.match(String(timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
  assert.deepEqual(data, {
    from: `${ALICE.phone}@s.whatsapp.net`,
    chat: `${ALICE.phone}@s.whatsapp.net`,
    messageID: direct,
    pushName: 'Alice',
    text: 'Hello!',
    type: 'text',
    isGroup: false,
    fromLid: `${ALICE.lid}@lid`,
  })

  // Headers: event name, a delivery id, and a signature of the exact bytes received.
  assert.equal(first!.headers['content-type'], 'application/json')
  assert.equal(first!.headers['x-wsgo-event'], 'message')
  assert.match(first!.deliveryId, /^[0-9a-f-]{36}$/)
  const expected = createHmac('sha256', 'whsec_test').update(first!.body).digest('hex')
  assert.equal(first!.headers['x-wsgo-signature'], `sha256=${expected}`)

  const group = JSON.parse(second!.text) as { data: Record<string, unknown> }
  assert.equal(group.data.messageID, inGroup)
  assert.equal(group.data.isGroup, true)
  assert.equal(group.data.chat, GROUP)
  assert.equal(group.data.from, `${BOB.phone}@s.whatsapp.net`)
  assert.equal(group.data.text, 'Hello group!')

  const image = JSON.parse(third!.text) as { data: Record<string, unknown> }
  assert.equal(image.data.messageID, caption)
  assert.deepEqual([image.data.type, image.data.text, image.data.caption, image.data.mimetype], ['image', 'Check this out!', 'Check this out!', 'image/png'])

  // Only the events asked for: the connection events of the pairing were not delivered.
  assert.deepEqual([...new Set(receiver.requests.map((r) => r.event))], ['message'])
})
