// Every kind of message a contact's phone sends reaches the webhook as a `message` event with its
// type and its own fields (through real Baileys and the stand-in): location, one and several
// contact cards, a reaction, a poll, a reply with @mentions; and the sender's edits and deletions
// as `message.edited` / `message.revoked`. The text event keeps the contract's exact shape.
import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { Receiver } from './support/receiver.js'
import { ALICE, BOB, OWN, startWithStandIn } from './support/whatsapp.js'
import { editMessage, revokeMessage } from './standin/message-changes.js'
import { contactCard, contactMessage, locationMessage, pollMessage, reactionMessage, replyMessage } from './standin/message-kinds.js'
import { pollVoteMessage } from './standin/poll-votes.js'

const cleanups: Array<() => Promise<unknown>> = []
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup()
})

const OWN_PN = `${OWN.phone}@s.whatsapp.net`
const ALICE_PN = `${ALICE.phone}@s.whatsapp.net`
const GROUP = '120363000000000077@g.us'
type Delivered = { event: string; data: Record<string, unknown> }

test('each kind of incoming message, and its edits and deletions, reach the webhook with their fields', async () => {
  const receiver = await Receiver.start()
  cleanups.push(() => receiver.close())
  const h = await startWithStandIn()
  cleanups.push(() => h.close())
  h.standin.setGroups([{ jid: GROUP, subject: 'Kinds', participants: [ALICE, BOB] }])
  const events = ['message', 'message.edited', 'message.revoked']
  const set = await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url, events }) })
  assert.equal(set.status, 200)
  await h.pair()
  const delivered = () => receiver.requests.map((r) => JSON.parse(r.text) as Delivered)
  const dataOf = async (type: string, id: string) => {
    await receiver.waitFor(() => delivered().some((e) => e.event === type && e.data.messageID === id), 10_000)
    return delivered().find((e) => e.event === type && e.data.messageID === id)!.data
  }

  const text = await h.standin.sendText(ALICE, 'plain text')
  const location = await h.standin.sendMessage(ALICE, locationMessage(4.711, -74.0721, 'Plaza', 'Calle 1 #2-3'))
  const alone = contactCard('Carol', '15550004444')
  const card = await h.standin.sendMessage(ALICE, contactMessage(alone))
  const cards = [contactCard('Dave', '15550005555'), contactCard('Erin', '15550006666')]
  const several = await h.standin.sendMessage(ALICE, contactMessage(...cards))
  const reaction = await h.standin.sendMessage(ALICE, reactionMessage(text, '👍', OWN_PN, false))
  const unreact = await h.standin.sendMessage(ALICE, reactionMessage(text, '', OWN_PN, false))
  const poll = await h.standin.sendMessage(ALICE, pollMessage('Lunch?', ['Pizza', 'Sushi', 'Tacos'], 2))
  const reply = await h.standin.sendMessage(BOB, replyMessage('@15550002222 see above', text, ALICE_PN, [ALICE_PN]), { group: GROUP })

  const { timestamp: _t, ...plain } = await dataOf('message', text)
  assert.deepEqual(plain, { from: ALICE_PN, chat: ALICE_PN, messageID: text, pushName: 'Alice', text: 'plain text', type: 'text', isGroup: false, fromLid: `${ALICE.lid}@lid` })

  const loc = await dataOf('message', location)
  assert.deepEqual([loc.type, loc.text, loc.location], ['location', 'Plaza', { latitude: 4.711, longitude: -74.0721, name: 'Plaza', address: 'Calle 1 #2-3' }])
  const one = await dataOf('message', card)
  assert.deepEqual([one.type, one.text, one.contacts], ['contact', 'Carol', [alone]])
  const many = await dataOf('message', several)
  assert.deepEqual([many.type, many.contacts], ['contact', cards])
  const react = await dataOf('message', reaction)
  assert.deepEqual([react.type, react.text, react.reaction], ['reaction', '👍', { messageID: text, emoji: '👍' }])
  const removed = await dataOf('message', unreact)
  assert.deepEqual(removed.reaction, { messageID: text, emoji: '' })
  const asked = await dataOf('message', poll)
  assert.deepEqual([asked.type, asked.text, asked.poll], ['poll', 'Lunch?', { question: 'Lunch?', options: ['Pizza', 'Sushi', 'Tacos'], selectableCount: 2 }])
  const answered = await dataOf('message', reply)
  assert.deepEqual(
    [answered.type, answered.chat, answered.isGroup, answered.quotedMessageID, answered.mentions, answered.text],
    ['text', GROUP, true, text, [ALICE_PN], '@15550002222 see above'],
  )

  // The sender edits a message, then deletes another for everyone.
  await h.standin.sendMessage(ALICE, editMessage(text, OWN_PN, 'plain text, edited'))
  await h.standin.sendMessage(ALICE, revokeMessage(location, OWN_PN))
  const { timestamp: editedAt, ...edited } = await dataOf('message.edited', text)
  assert.deepEqual(edited, { messageID: text, chat: ALICE_PN, from: ALICE_PN, text: 'plain text, edited', isGroup: false })
  assert.match(String(editedAt), /^\d{4}-\d\d-\d\dT/)
  const { timestamp: _r, ...revoked } = await dataOf('message.revoked', location)
  assert.deepEqual(revoked, { messageID: location, chat: ALICE_PN, from: ALICE_PN, isGroup: false })
  // An edit or a deletion is not itself a message.
  assert.equal(delivered().filter((e) => e.event === 'message').length, 8)

  // The same events in GET /api/events, by type.
  const rows = (await (await fetch(`${h.url}/api/events?type=message.revoked`)).json()) as Array<{ type: string; data: Record<string, unknown> }>
  assert.deepEqual(rows.map((e) => [e.type, e.data.messageID]), [['message.revoked', location]])
})

test('a vote on a poll this account sent arrives decrypted, naming the options chosen', async () => {
  const receiver = await Receiver.start()
  cleanups.push(() => receiver.close())
  const h = await startWithStandIn()
  cleanups.push(() => h.close())
  const set = await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url, events: ['message'] }) })
  assert.equal(set.status, 200)
  await h.pair()
  const res = await fetch(`${h.url}/api/send/poll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: ALICE.phone, question: 'Lunch?', options: ['Pizza', 'Sushi', 'Tacos'], selectable_count: 2 }),
  })
  assert.equal(res.status, 200)
  const { messageID } = (await res.json()) as { messageID: string }
  const poll = await h.standin.waitForOutgoing((m) => m.id === messageID)
  const secret = poll.message.messageContextInfo?.messageSecret
  assert.ok(secret)
  const own = `${OWN.lid}@lid`
  const vote = (options: string[]) =>
    h.standin.sendMessage(ALICE, pollVoteMessage({ pollMessageId: messageID, secret, creatorJid: own, voterJid: `${ALICE.lid}@lid`, chat: own, options }))
  const first = await vote(['Sushi', 'Tacos'])
  const changed = await vote([])
  await receiver.waitFor((requests) => requests.length >= 2, 10_000)
  const byId = new Map(receiver.requests.map((r) => JSON.parse(r.text) as Delivered).map((e) => [e.data.messageID, e.data]))
  const chosen = byId.get(first)!
  assert.deepEqual([chosen.type, chosen.from, chosen.text, chosen.vote], ['poll_vote', ALICE_PN, 'Sushi, Tacos', { pollMessageID: messageID, options: ['Sushi', 'Tacos'] }])
  assert.deepEqual(byId.get(changed)!.vote, { pollMessageID: messageID, options: [] })
})
