// Sends without a file (issue 15): location, contact cards, polls; and what every send takes:
// `chat` instead of `phone` (a LID, a group), `reply_to` quotes, `mentions`. The stand-in's phones
// decrypt each message, so the assertions are on what the recipient's WhatsApp reads.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import type { proto } from '@whiskeysockets/baileys'
import { ALICE, BOB, OWN } from './support/whatsapp.js'
import { badFields, GROUP, pairedForSends, postOk, trpcError, type SendHarness } from './support/sends.js'

let s: SendHarness
before(async () => {
  s = await pairedForSends()
})
after(() => s.close())

const outgoing = (id: string) => s.h.standin.waitForOutgoing((m) => m.id === id)
const ALICE_JID = `${ALICE.phone}@s.whatsapp.net`
const OWN_JID = `${OWN.phone}@s.whatsapp.net`

describe('location', () => {
  test('POST /api/send/location and messages.sendLocation: coordinates, name and address', async () => {
    const answer = await postOk(`${s.h.url}/api/send/location`, { phone: ALICE.phone, latitude: 4.6097, longitude: -74.0817, name: 'Plaza de Bolívar', address: 'Cra. 7 #11-10, Bogotá' })
    const location = (await outgoing(answer.messageID)).message.locationMessage
    assert.deepEqual(
      { lat: location?.degreesLatitude, lng: location?.degreesLongitude, name: location?.name, address: location?.address },
      { lat: 4.6097, lng: -74.0817, name: 'Plaza de Bolívar', address: 'Cra. 7 #11-10, Bogotá' },
    )
    const viaTrpc = await s.trpc.messages.sendLocation.mutate({ chat: GROUP.jid, latitude: -33.8568, longitude: 151.2153 })
    const inGroup = await outgoing(viaTrpc.messageID)
    assert.equal(inGroup.isGroup, true)
    assert.deepEqual([inGroup.message.locationMessage?.degreesLatitude, inGroup.message.locationMessage?.degreesLongitude], [-33.8568, 151.2153])
  })

  test('bad coordinates are 400s naming the field, and are never coerced', async () => {
    const url = `${s.h.url}/api/send/location`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, latitude: 91, longitude: 0 }), ['latitude'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, latitude: 0, longitude: -180.5 }), ['longitude'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, latitude: '4.6', longitude: 0 }), ['latitude'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, latitude: null, longitude: 0 }), ['latitude'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, latitude: 0 }), ['longitude'])
    assert.deepEqual((await trpcError(s.trpc.messages.sendLocation.mutate({ phone: ALICE.phone, latitude: 100, longitude: 0 }))).paths, ['latitude'])
  })
})

describe('contact cards', () => {
  test('one card: a vCard with the WhatsApp link of each phone', async () => {
    const answer = await postOk(`${s.h.url}/api/send/contact`, { phone: ALICE.phone, contacts: [{ name: 'Bob, the builder', phones: ['+1 555 000 3333'], organization: 'Builders; Inc' }] })
    const card = (await outgoing(answer.messageID)).message.contactMessage
    assert.equal(card?.displayName, 'Bob, the builder')
    assert.equal(
      card?.vcard,
      ['BEGIN:VCARD', 'VERSION:3.0', 'FN:Bob\\, the builder', 'N:;Bob\\, the builder;;;', 'ORG:Builders\\; Inc;', `TEL;type=CELL;type=VOICE;waid=${BOB.phone}:+${BOB.phone}`, 'END:VCARD'].join('\n'),
    )
  })

  test('several cards, one of them a vCard of the caller\'s own, over tRPC', async () => {
    const own = 'BEGIN:VCARD\nVERSION:3.0\nFN:Carol Own\nTEL;waid=15550004444:+15550004444\nEND:VCARD'
    const answer = await s.trpc.messages.sendContact.mutate({ phone: ALICE.phone, contacts: [{ name: 'Bob', phones: [BOB.phone] }, { vcard: own }] })
    const cards = (await outgoing(answer.messageID)).message.contactsArrayMessage
    assert.equal(cards?.displayName, '2 contacts')
    assert.deepEqual(cards?.contacts?.map((c) => c.displayName), ['Bob', 'Carol Own'])
    assert.match(cards?.contacts?.[0]?.vcard ?? '', new RegExp(`waid=${BOB.phone}:\\+${BOB.phone}`))
    assert.equal(cards?.contacts?.[1]?.vcard, own)
  })

  test('bad cards are 400s naming the field', async () => {
    const url = `${s.h.url}/api/send/contact`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, contacts: [] }), ['contacts'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone }), ['contacts'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, contacts: [{ phones: [BOB.phone] }] }), ['contacts.0.name'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, contacts: [{ name: 'Bob' }] }), ['contacts.0.phones'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, contacts: [{ name: 'Bob', phones: ['12ab'] }] }), ['contacts.0.phones.0'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, contacts: [{ name: 'A', phones: [BOB.phone] }, { vcard: 'hello' }] }), ['contacts.1.vcard'])
  })
})

describe('polls', () => {
  test('POST /api/send/poll: question, options, one choice', async () => {
    const answer = await postOk(`${s.h.url}/api/send/poll`, { phone: ALICE.phone, question: 'Lunch?', options: ['Pizza', 'Sushi', 'Tacos'] })
    const out = await outgoing(answer.messageID)
    const poll = out.message.pollCreationMessageV3
    assert.equal(poll?.name, 'Lunch?')
    assert.deepEqual(poll?.options?.map((o) => o.optionName), ['Pizza', 'Sushi', 'Tacos'])
    assert.equal(poll?.selectableOptionsCount, 1)
    // the secret the recipients' votes are encrypted with
    assert.equal(out.message.messageContextInfo?.messageSecret?.length, 32)
  })

  test('messages.sendPoll: several choices, in a group', async () => {
    const answer = await s.trpc.messages.sendPoll.mutate({ chat: GROUP.jid, question: 'Which days?', options: ['Mon', 'Tue', 'Wed'], selectable_count: 2 })
    const poll = (await outgoing(answer.messageID)).message.pollCreationMessage
    assert.deepEqual([poll?.name, poll?.options?.map((o) => o.optionName), poll?.selectableOptionsCount], ['Which days?', ['Mon', 'Tue', 'Wed'], 2])
  })

  test('bad polls are 400s naming the field', async () => {
    const url = `${s.h.url}/api/send/poll`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, question: 'Q', options: ['only one'] }), ['options'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, question: 'Q', options: ['a', 'a'] }), ['options'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, question: 'Q', options: ['a', ''] }), ['options.1'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, question: '', options: ['a', 'b'] }), ['question'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, question: 'Q', options: ['a', 'b'], selectable_count: 3 }), ['selectable_count'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, question: 'Q', options: ['a', 'b'], selectable_count: '1' }), ['selectable_count'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, question: 'Q', options: Array.from({ length: 13 }, (_, i) => `o${i}`) }), ['options'])
  })
})

describe('what every send takes', () => {
  test('chat instead of phone: a LID, answered with the phone JID and the LID', async () => {
    const answer = await postOk(`${s.h.url}/api/send/text`, { chat: `${ALICE.lid}@lid`, message: 'by LID' })
    assert.deepEqual({ chat: answer.chat, phoneJid: answer.phoneJid, lid: answer.lid }, { chat: `${ALICE.lid}@lid`, phoneJid: ALICE_JID, lid: `${ALICE.lid}@lid` })
    const out = await outgoing(answer.messageID)
    assert.equal(out.to, `${ALICE.lid}@lid`)
    assert.equal(out.text, 'by LID')
    // the contract's answer is still all there
    assert.equal(answer.status, 'sent')
    assert.match(answer.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/)
  })

  test('reply_to a message the service sent quotes its content, by this account', async () => {
    const original = await postOk(`${s.h.url}/api/send/text`, { phone: ALICE.phone, message: 'the original' })
    const reply = await postOk(`${s.h.url}/api/send/location`, { phone: ALICE.phone, latitude: 1, longitude: 2, reply_to: original.messageID })
    const context = (await outgoing(reply.messageID)).message.locationMessage?.contextInfo
    assert.equal(context?.stanzaId, original.messageID)
    assert.equal(context?.participant, OWN_JID)
    assert.equal(context?.quotedMessage?.extendedTextMessage?.text ?? context?.quotedMessage?.conversation, 'the original')
  })

  test('reply_to a message the contact sent quotes it by id and author', async () => {
    const incoming = await s.h.standin.sendText(ALICE, 'a question from Alice')
    const reply = await s.trpc.messages.sendText.mutate({ phone: ALICE.phone, message: 'the answer', reply_to: incoming })
    const text = (await outgoing(reply.messageID)).message.extendedTextMessage
    assert.equal(text?.text, 'the answer')
    assert.equal(text?.contextInfo?.stanzaId, incoming)
    assert.equal(text?.contextInfo?.participant, ALICE_JID)
    assert.equal(text?.contextInfo?.quotedMessage, null)
  })

  test('in a group: mentions, and a quote of a member\'s message names its author', async () => {
    const fromBob = await s.h.standin.sendText(BOB, 'hi all', { group: GROUP.jid })
    const answer = await postOk(`${s.h.url}/api/send/group`, {
      group_jid: GROUP.jid,
      message: `@${ALICE.phone} @${BOB.phone} look`,
      mentions: [ALICE.phone, `${BOB.phone}@s.whatsapp.net`],
      reply_to: fromBob,
      reply_to_sender: BOB.phone,
    })
    assert.deepEqual([answer.chat, answer.phoneJid, answer.lid], [GROUP.jid, undefined, undefined])
    const text = (await outgoing(answer.messageID)).message.extendedTextMessage as proto.Message.IExtendedTextMessage
    assert.deepEqual(text.contextInfo?.mentionedJid, [ALICE_JID, `${BOB.phone}@s.whatsapp.net`])
    assert.equal(text.contextInfo?.stanzaId, fromBob)
    assert.equal(text.contextInfo?.participant, `${BOB.phone}@s.whatsapp.net`)

    // a poll quoting a message this service sent: the quote sits on the poll itself
    const poll = await s.trpc.messages.sendPoll.mutate({ chat: GROUP.jid, question: 'Agreed?', options: ['y', 'n'], reply_to: answer.messageID })
    const pollContext = (await outgoing(poll.messageID)).message.pollCreationMessageV3?.contextInfo
    assert.equal(pollContext?.stanzaId, answer.messageID)
    assert.equal(pollContext?.participant, OWN_JID)
    assert.equal(pollContext?.quotedMessage?.extendedTextMessage?.text, `@${ALICE.phone} @${BOB.phone} look`)
  })

  test('bad targets, quotes and mentions are 400s naming the field', async () => {
    const url = `${s.h.url}/api/send/text`
    assert.deepEqual(await badFields(url, { message: 'to nobody' }), ['phone'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, chat: ALICE_JID, message: 'both' }), ['chat'])
    assert.deepEqual(await badFields(url, { chat: '15550002222:3@s.whatsapp.net', message: 'a device' }), ['chat'])
    assert.deepEqual(await badFields(url, { chat: 'status@broadcast', message: 'x' }), ['chat'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message: 'x', reply_to: 'not an id!' }), ['reply_to'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message: 'x', mentions: [ALICE.phone, 'someone'] }), ['mentions.1'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message: 'x', mentions: 'all' }), ['mentions'])
    // a member's message quoted in a group needs its author
    assert.deepEqual(await badFields(`${s.h.url}/api/send/group`, { group_jid: GROUP.jid, message: 'x', reply_to: 'ABCDEF123456' }), ['reply_to_sender'])
    assert.deepEqual(await badFields(`${s.h.url}/api/send/poll`, { chat: GROUP.jid, question: 'Q', options: ['a', 'b'], reply_to: 'ABCDEF123456', reply_to_sender: BOB.phone }), ['reply_to'])
    assert.deepEqual((await trpcError(s.trpc.messages.sendText.mutate({ message: 'x' }))).paths, ['phone'])
  })
})
