// What is done to messages already in a chat (issue 15): reactions, edits, deletions for everyone,
// read receipts, and chat presence (typing, recording, paused). The stand-in's phones decrypt the
// protocol messages, so each assertion is on the message id and content their WhatsApp acts on.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { proto } from '@whiskeysockets/baileys'
import { ALICE, BOB } from './support/whatsapp.js'
import { badFields, GROUP, pairedForSends, postOk, trpcError, type SendHarness } from './support/sends.js'
import { waitUntil } from './support/whatsapp.js'

let s: SendHarness
before(async () => {
  s = await pairedForSends()
})
after(() => s.close())

const outgoing = (id: string) => s.h.standin.waitForOutgoing((m) => m.id === id)
const ALICE_JID = `${ALICE.phone}@s.whatsapp.net`
const BOB_JID = `${BOB.phone}@s.whatsapp.net`

describe('reactions', () => {
  test('POST /api/send/reaction on a message the service sent, then removed with ""', async () => {
    const sent = await postOk(`${s.h.url}/api/send/text`, { phone: ALICE.phone, message: 'react to me' })
    const reaction = await postOk(`${s.h.url}/api/send/reaction`, { phone: ALICE.phone, message_id: sent.messageID, emoji: '👍' })
    const message = (await outgoing(reaction.messageID)).message.reactionMessage
    assert.equal(message?.text, '👍')
    assert.deepEqual([message?.key?.id, message?.key?.fromMe, message?.key?.remoteJid], [sent.messageID, true, ALICE_JID])

    const removed = await s.trpc.messages.sendReaction.mutate({ phone: ALICE.phone, message_id: sent.messageID, emoji: '' })
    const removal = (await outgoing(removed.messageID)).message.reactionMessage
    assert.deepEqual([removal?.text, removal?.key?.id], ['', sent.messageID])
  })

  test('on a contact\'s message, and on a member\'s message in a group', async () => {
    const fromAlice = await s.h.standin.sendText(ALICE, 'how about a reaction')
    const reaction = await s.trpc.messages.sendReaction.mutate({ chat: ALICE_JID, message_id: fromAlice, emoji: '❤️' })
    const message = (await outgoing(reaction.messageID)).message.reactionMessage
    assert.deepEqual([message?.text, message?.key?.id, message?.key?.fromMe], ['❤️', fromAlice, false])

    const fromBob = await s.h.standin.sendText(BOB, 'group news', { group: GROUP.jid })
    const inGroup = await postOk(`${s.h.url}/api/send/reaction`, { chat: GROUP.jid, message_id: fromBob, emoji: '🎉', sender: BOB.phone })
    const groupReaction = await outgoing(inGroup.messageID)
    assert.equal(groupReaction.isGroup, true)
    const key = groupReaction.message.reactionMessage?.key
    assert.deepEqual([key?.id, key?.fromMe, key?.participant, key?.remoteJid], [fromBob, false, BOB_JID, GROUP.jid])
  })

  test('bad reactions are 400s naming the field', async () => {
    const url = `${s.h.url}/api/send/reaction`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, emoji: '👍' }), ['message_id'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message_id: 'ABC123', emoji: 'thumbs up' }), ['emoji'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message_id: 'ABC123' }), ['emoji'])
    assert.deepEqual(await badFields(url, { chat: GROUP.jid, message_id: 'ABC123', emoji: '👍' }), ['sender'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message_id: 'ABC123', emoji: '👍', from_me: 'false' }), ['from_me'])
    assert.deepEqual((await trpcError(s.trpc.messages.sendReaction.mutate({ phone: ALICE.phone, message_id: 'a b', emoji: '👍' }))).paths, ['message_id'])
  })
})

describe('edit and delete', () => {
  test('POST /api/messages/edit and messages.editMessage replace the text of a sent message', async () => {
    const sent = await postOk(`${s.h.url}/api/send/text`, { phone: ALICE.phone, message: 'helo' })
    const edit = await postOk(`${s.h.url}/api/messages/edit`, { phone: ALICE.phone, message_id: sent.messageID, message: 'hello' })
    assert.notEqual(edit.messageID, sent.messageID)
    const out = await outgoing(edit.messageID)
    assert.equal(out.stanza.attrs.edit, '1')
    const protocol = out.message.protocolMessage
    assert.equal(protocol?.type, proto.Message.ProtocolMessage.Type.MESSAGE_EDIT)
    assert.deepEqual([protocol?.key?.id, protocol?.key?.fromMe], [sent.messageID, true])
    assert.equal(protocol?.editedMessage?.extendedTextMessage?.text ?? protocol?.editedMessage?.conversation, 'hello')

    const again = await s.trpc.messages.editMessage.mutate({ chat: ALICE_JID, message_id: sent.messageID, message: 'hello!' })
    const edited = (await outgoing(again.messageID)).message.protocolMessage?.editedMessage
    assert.equal(edited?.extendedTextMessage?.text ?? edited?.conversation, 'hello!')
  })

  test('POST /api/messages/delete revokes a sent message for everyone; an admin deletes a member\'s', async () => {
    const sent = await postOk(`${s.h.url}/api/send/text`, { phone: ALICE.phone, message: 'oops' })
    const deletion = await postOk(`${s.h.url}/api/messages/delete`, { phone: ALICE.phone, message_id: sent.messageID })
    const out = await outgoing(deletion.messageID)
    assert.equal(out.stanza.attrs.edit, '7')
    assert.equal(out.message.protocolMessage?.type, proto.Message.ProtocolMessage.Type.REVOKE)
    assert.deepEqual([out.message.protocolMessage?.key?.id, out.message.protocolMessage?.key?.fromMe], [sent.messageID, true])

    const fromBob = await s.h.standin.sendText(BOB, 'spam', { group: GROUP.jid })
    const asAdmin = await s.trpc.messages.deleteMessage.mutate({ chat: GROUP.jid, message_id: fromBob, sender: BOB.phone })
    const adminOut = await outgoing(asAdmin.messageID)
    assert.equal(adminOut.stanza.attrs.edit, '8')
    const key = adminOut.message.protocolMessage?.key
    assert.deepEqual([key?.id, key?.fromMe, key?.participant], [fromBob, false, BOB_JID])
  })

  test('bad edits and deletions are 400s naming the field', async () => {
    assert.deepEqual(await badFields(`${s.h.url}/api/messages/edit`, { phone: ALICE.phone, message_id: 'ABC123' }), ['message'])
    assert.deepEqual(await badFields(`${s.h.url}/api/messages/edit`, { phone: ALICE.phone, message_id: 'ABC123', message: '' }), ['message'])
    assert.deepEqual(await badFields(`${s.h.url}/api/messages/edit`, { message_id: 'ABC123', message: 'x' }), ['phone'])
    assert.deepEqual(await badFields(`${s.h.url}/api/messages/delete`, { phone: ALICE.phone }), ['message_id'])
    assert.deepEqual(await badFields(`${s.h.url}/api/messages/delete`, { phone: ALICE.phone, message_id: 'ABC123', sender: 'nobody' }), ['sender'])
  })
})

describe('read receipts', () => {
  test('POST /api/messages/read and messages.markRead send read receipts for the messages', async () => {
    const first = await s.h.standin.sendText(ALICE, 'one')
    const second = await s.h.standin.sendText(ALICE, 'two')
    const answer = await postOk<{ status: string; chat: string; count: number }>(`${s.h.url}/api/messages/read`, { phone: ALICE.phone, message_ids: [first, second, first] })
    assert.deepEqual(answer, { status: 'read', chat: ALICE_JID, count: 2 })
    const isRead = (type: string | undefined) => type === 'read' || type === 'read-self'
    // one receipt names the first id and lists the others
    const receipt = await waitUntil('a read receipt', async () => s.h.standin.receipts().find((r) => r.id === first && isRead(r.type)))
    assert.equal(receipt.to, ALICE_JID)
    assert.match(JSON.stringify(receipt.stanza.content ?? []), new RegExp(second))

    const inGroup = await s.h.standin.sendText(BOB, 'read me', { group: GROUP.jid })
    await s.trpc.messages.markRead.mutate({ chat: GROUP.jid, message_ids: [inGroup], sender: BOB.phone })
    const groupReceipt = await waitUntil('a group read receipt', async () => s.h.standin.receipts().find((r) => r.id === inGroup && isRead(r.type)))
    assert.deepEqual([groupReceipt.to, groupReceipt.participant], [GROUP.jid, BOB_JID])
  })

  test('bad read requests are 400s naming the field', async () => {
    const url = `${s.h.url}/api/messages/read`
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message_ids: [] }), ['message_ids'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message_ids: Array.from({ length: 101 }, (_, i) => `ID${i}`) }), ['message_ids'])
    assert.deepEqual(await badFields(url, { phone: ALICE.phone, message_ids: ['ok', 'not ok'] }), ['message_ids.1'])
    assert.deepEqual(await badFields(url, { chat: GROUP.jid, message_ids: ['ABC'] }), ['sender'])
  })
})

describe('presence', () => {
  test('POST /api/presence and messages.setPresence: typing, recording, paused', async () => {
    const before = s.chatStates.states().length
    assert.deepEqual(await postOk(`${s.h.url}/api/presence`, { phone: ALICE.phone, state: 'typing' }), { status: 'sent', chat: ALICE_JID, state: 'typing' })
    await s.trpc.messages.setPresence.mutate({ chat: GROUP.jid, state: 'recording' })
    await postOk(`${s.h.url}/api/presence`, { chat: `${ALICE.lid}@lid`, state: 'paused' })
    const states = await waitUntil('three chat states', async () => {
      const seen = s.chatStates.states().slice(before)
      return seen.length >= 3 ? seen : undefined
    })
    assert.deepEqual(states, [
      { to: ALICE_JID, state: 'composing' },
      { to: GROUP.jid, state: 'composing', media: 'audio' },
      { to: `${ALICE.lid}@lid`, state: 'paused' },
    ])
  })

  test('a bad state or chat is a 400 naming the field', async () => {
    assert.deepEqual(await badFields(`${s.h.url}/api/presence`, { phone: ALICE.phone, state: 'dancing' }), ['state'])
    assert.deepEqual(await badFields(`${s.h.url}/api/presence`, { phone: ALICE.phone }), ['state'])
    assert.deepEqual(await badFields(`${s.h.url}/api/presence`, { chat: 'x@y', state: 'typing' }), ['chat'])
  })
})

describe('documented, and on every session\'s paths', () => {
  test('the OpenAPI document has every send with its summary, fields and answer, and still validates', async () => {
    const { Validator } = await import('@seriousme/openapi-schema-validator')
    type Operation = { summary?: string; description?: string; requestBody?: { content: Record<string, { schema: unknown }> }; responses: Record<string, unknown> }
    const document = (await (await fetch(`${s.h.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } }
    const validation = await new Validator().validate(document as Parameters<InstanceType<typeof Validator>['validate']>[0])
    assert.equal(validation.valid, true, JSON.stringify(validation.errors))
    const expected: Record<string, string[]> = {
      '/api/send/video': ['video_base64', 'media_url', 'gif_playback', 'reply_to', 'mentions', 'chat'],
      '/api/send/audio': ['audio_base64', 'media_url', 'ptt'],
      '/api/send/sticker': ['sticker_base64', 'media_url'],
      '/api/send/location': ['latitude', 'longitude', 'name', 'address'],
      '/api/send/contact': ['contacts', 'vcard', 'phones'],
      '/api/send/reaction': ['message_id', 'emoji', 'sender'],
      '/api/send/poll': ['question', 'options', 'selectable_count'],
      '/api/messages/edit': ['message_id', 'message'],
      '/api/messages/delete': ['message_id', 'sender'],
      '/api/messages/read': ['message_ids'],
      '/api/presence': ['state'],
      '/api/send/text': ['phone', 'chat', 'message', 'reply_to', 'mentions'],
      '/api/send/image': ['image_base64', 'media_url'],
    }
    for (const [path, fields] of Object.entries(expected)) {
      const operation = document.paths[path]?.post
      assert.ok(operation?.summary && operation.description, `POST ${path} has a summary and a description`)
      const body = JSON.stringify(operation.requestBody)
      for (const field of fields) assert.match(body, new RegExp(`"${field}"`), `${path} documents ${field}`)
      assert.ok(document.paths[`/api/sessions/{session}${path.slice(4)}`]?.post, `${path} per session`)
    }
    assert.match(JSON.stringify(document.components?.schemas?.MessageSent), /"phoneJid".*"lid"|"lid".*"phoneJid"/)
  })

  test('a send at /api/sessions/{session}/... acts on that session', async () => {
    const answer = await postOk(`${s.h.url}/api/sessions/default/send/location`, { phone: ALICE.phone, latitude: 10, longitude: 20 })
    assert.equal((await outgoing(answer.messageID)).message.locationMessage?.degreesLatitude, 10)
    const missing = await fetch(`${s.h.url}/api/sessions/nosuch/send/location`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: ALICE.phone, latitude: 1, longitude: 2 }) })
    assert.equal(missing.status, 404)
  })
})
