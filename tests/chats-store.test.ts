// The message store on both providers, fed Baileys' events directly (the same objects Baileys emits;
// tests/chats.test.ts has them come from the stand-in through real Baileys): pages with many
// messages in one second, retention pruning in batches that yield, updates that overtake their
// message, status that never goes back, a session's rows wiped with it.
import { after, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { EventEmitter } from 'node:events'
import type { BaileysEventMap, WAMessage } from '@whiskeysockets/baileys'
import pino from 'pino'
import { openClient, type Db } from '../src/store/database.js'
import { migrate } from '../src/store/migrate.js'
import { deleteSessionRows } from '../src/store/session-rows.js'
import { BATCH, MessageStore, type MessageSource } from '../src/messages/store.js'
import { MessageHistory } from '../src/messages/history.js'
import { STATUS } from '../src/messages/shapes.js'
import { stopTestDatabases, testDatabases } from './support/databases.js'

const databases = await testDatabases()
after(stopTestDatabases)

const SELF = '15550001111:1@s.whatsapp.net'
const ALICE = '15550002222@s.whatsapp.net'
const ALICE_LID = '88880002222@lid'
const BOB = '15550003333@s.whatsapp.net'
const GROUP = '120363000000000001@g.us'

/** A socket's event side: what MessageStore.attach() listens to. */
class FakeSocket extends EventEmitter implements MessageSource {
  readonly user = { id: SELF }
  readonly ev = { on: <T extends keyof BaileysEventMap>(event: T, listener: (data: BaileysEventMap[T]) => void) => void this.on(event, listener) }
  emitEvent<T extends keyof BaileysEventMap>(event: T, data: BaileysEventMap[T]) {
    this.emit(event, data)
  }
}

const text = (id: string, at: number, body: string, extra: Partial<WAMessage['key']> = {}): WAMessage => ({
  key: { remoteJid: ALICE, fromMe: false, id, ...extra },
  message: { conversation: body },
  messageTimestamp: at,
  pushName: 'Alice',
})

async function open(url: string, retentionDays = 90, resolve = (_lid: string): string | undefined => undefined) {
  await migrate(url)
  const db = await openClient(url)
  openedClients.push(db)
  const store = new MessageStore({ db, session: 'default', logger: pino({ level: 'silent' }), retentionDays, resolve })
  const socket = new FakeSocket()
  store.attach(socket)
  return { db, store, socket, history: new MessageHistory(db, 'default') }
}

async function walk(history: MessageHistory, chat: string, limit: number, direction: 'older' | 'newer'): Promise<string[]> {
  const ids: string[] = []
  let page = await history.messages({ chat, limit })
  if (direction === 'newer') {
    // From the oldest message: first walk back to it.
    while (page.older) page = await history.messages({ chat, limit, before: position(page.older) })
    ids.push(...page.messages.map((m) => m.messageID))
    while (page.newer) {
      page = await history.messages({ chat, limit, after: position(page.newer) })
      ids.push(...page.messages.map((m) => m.messageID))
    }
    return ids
  }
  ids.unshift(...page.messages.map((m) => m.messageID))
  while (page.older) {
    page = await history.messages({ chat, limit, before: position(page.older) })
    ids.unshift(...page.messages.map((m) => m.messageID))
  }
  return ids
}

const { parseMessageCursor } = await import('../src/messages/shapes.js')
const position = (cursor: string) => parseMessageCursor(cursor)!
const openedClients: Db[] = []
after(() => Promise.all(openedClients.map((client) => client.$disconnect())))

for (const database of databases) {
  describe(`message store on ${database.provider}`, { skip: database.skip }, () => {

    test('pages of a chat with many messages in the same second return each once, in order, both ways', async () => {
      const opened = await open(await database.fresh())
      const db = opened.db
      const now = Math.floor(Date.now() / 1000)
      // 3 seconds of 9 messages each, delivered in one history chunk newest first, then live ones.
      const ids = Array.from({ length: 27 }, (_, i) => `SAME${String(i).padStart(3, '0')}`)
      const messages = ids.map((id, i) => text(id, now - 100 + Math.floor(i / 9), `m${i}`))
      opened.socket.emitEvent('messaging-history.set', { chats: [], contacts: [], messages: [...messages].reverse(), syncType: 2 as never })
      await opened.store.settled()
      // History came newest first, so arrival order inside one second is reversed: the store orders by
      // time, then by arrival. Live messages after it keep their order.
      const live = ['LIVE1', 'LIVE2', 'LIVE3']
      opened.socket.emitEvent('messages.upsert', { type: 'notify', messages: live.map((id) => text(id, now, id)) })
      await opened.store.settled()
      const expected = [...[0, 1, 2].flatMap((s) => ids.slice(s * 9, s * 9 + 9).reverse()), ...live]
      for (const limit of [1, 4, 9, 10, 30]) {
        assert.deepEqual(await walk(opened.history, ALICE, limit, 'older'), expected, `older, ${limit} a page`)
        assert.deepEqual(await walk(opened.history, ALICE, limit, 'newer'), expected, `newer, ${limit} a page`)
      }
      // Between two cursors: exactly what lies between.
      const all = (await opened.history.messages({ chat: ALICE, limit: 100 })).messages
      const between = await opened.history.messages({ chat: ALICE, limit: 100, after: position(all[3]!.cursor), before: position(all[20]!.cursor) })
      assert.deepEqual(between.messages.map((m) => m.messageID), expected.slice(4, 20))
      // The chat counts the live messages as unread (history never does) and shows the newest.
      const { chats } = await opened.history.chats({ limit: 10 })
      assert.deepEqual(chats.map((c) => [c.jid, c.unreadCount, c.lastMessage?.messageID]), [[ALICE, 3, 'LIVE3']])
    })

    test('a LID chat is stored under the phone number when known, and a LID finds the sender', async () => {
      const url = await database.fresh()
      const opened = await open(url, 90, (lid) => (lid === ALICE_LID ? ALICE : undefined))
      const db = opened.db
      await db.lidMapping.create({ data: { session: 'default', lid: ALICE_LID, pn: ALICE } })
      const now = Math.floor(Date.now() / 1000)
      opened.socket.emitEvent('messages.upsert', {
        type: 'notify',
        messages: [
          { key: { remoteJid: GROUP, participant: ALICE_LID, id: 'G1', fromMe: false }, message: { conversation: 'from alice' }, messageTimestamp: now },
          { key: { remoteJid: GROUP, participant: BOB, id: 'G2', fromMe: false }, message: { conversation: 'from bob' }, messageTimestamp: now },
          { key: { remoteJid: ALICE_LID, id: 'D1', fromMe: false }, message: { conversation: 'direct' }, messageTimestamp: now },
        ],
      })
      await opened.store.settled()
      assert.deepEqual((await opened.history.messages({ chat: GROUP, limit: 10, sender: ALICE_LID })).messages.map((m) => m.messageID), ['G1'])
      assert.deepEqual((await opened.history.messages({ chat: ALICE_LID, limit: 10 })).messages.map((m) => [m.messageID, m.chat, m.fromLid]), [['D1', ALICE, ALICE_LID]])
      const chats = (await opened.history.chats({ limit: 10 })).chats
      assert.deepEqual(chats.map((c) => [c.jid, c.phone, c.lid]).sort(), [[GROUP, null, null], [ALICE, '15550002222', ALICE_LID]].sort())
    })

    test('a chat kept under a LID moves under the number once it is known', async () => {
      const opened = await open(await database.fresh())
      const now = Math.floor(Date.now() / 1000)
      // Alice writes while only her LID is known, then with her number alongside (as WhatsApp sends it).
      opened.socket.emitEvent('messages.upsert', { type: 'notify', messages: [{ key: { remoteJid: ALICE_LID, id: 'L1', fromMe: false }, message: { conversation: 'by lid' }, messageTimestamp: now - 5 }] })
      await opened.store.settled()
      assert.deepEqual((await opened.history.chats({ limit: 10 })).chats.map((c) => c.jid), [ALICE_LID])
      opened.socket.emitEvent('messages.upsert', {
        type: 'notify',
        messages: [{ key: { remoteJid: ALICE_LID, remoteJidAlt: ALICE, id: 'L2', fromMe: false }, message: { conversation: 'with number' }, messageTimestamp: now }],
      })
      await opened.store.settled()
      const { chats } = await opened.history.chats({ limit: 10 })
      assert.deepEqual(chats.map((c) => [c.jid, c.unreadCount, c.lastMessage?.messageID]), [[ALICE, 2, 'L2']])
      const page = await opened.history.messages({ chat: ALICE, limit: 10 })
      assert.deepEqual(page.messages.map((m) => [m.messageID, m.chat, m.from]), [['L1', ALICE, ALICE], ['L2', ALICE, ALICE]])
    })

    test('updates that overtake their message are applied when it arrives; status never goes back', async () => {
      const opened = await open(await database.fresh())
      const db = opened.db
      const key = { remoteJid: ALICE, fromMe: true, id: 'OWN1' }
      // Baileys emits our own send on the next tick: the server's ack can come first.
      opened.socket.emitEvent('messages.update', [{ key, update: { status: STATUS.sent } }])
      opened.socket.emitEvent('messages.upsert', { type: 'append', messages: [{ key, message: { conversation: 'ours' }, messageTimestamp: Math.floor(Date.now() / 1000), status: STATUS.pending }] })
      await opened.store.settled()
      assert.equal((await opened.history.message('OWN1'))?.status, 'sent')
      opened.socket.emitEvent('messages.update', [{ key, update: { status: STATUS.read } }])
      opened.socket.emitEvent('messages.update', [{ key, update: { status: STATUS.delivered } }])
      opened.socket.emitEvent('messages.update', [{ key, update: { status: STATUS.error } }])
      await opened.store.settled()
      const stored = await opened.history.message('OWN1')
      assert.equal(stored?.status, 'read')
      assert.equal(stored?.from, '15550001111@s.whatsapp.net')
      // Delete for me, on the phone: gone.
      opened.socket.emitEvent('messages.delete', { keys: [key] })
      await opened.store.settled()
      assert.equal(await opened.history.message('OWN1'), undefined)
    })

    test('retention: old messages are pruned in batches that let the event loop run; 0 keeps none', async () => {
      const opened = await open(await database.fresh(), 30)
      const db = opened.db
      const now = Math.floor(Date.now() / 1000)
      const old = Array.from({ length: BATCH * 2 + 10 }, (_, i) => text(`OLD${i}`, now - 20 * 86_400, 'old'))
      // Written directly as rows older than the retention would not be accepted by the store itself.
      await db.message.createMany({
        data: old.map((m) => ({ session: 'default', id: m.key.id!, chat: ALICE, sender: ALICE, fromMe: false, type: 'text', sentAt: new Date((now - 40 * 86_400) * 1000), status: 3, data: '{}' })),
      })
      opened.socket.emitEvent('messages.upsert', { type: 'notify', messages: [text('NEW', now, 'new'), text('TOO-OLD', now - 31 * 86_400, 'too old')] })
      await opened.store.settled()
      let turns = 0
      const ticker = setInterval(() => turns++, 0)
      const deleted = await opened.store.prune()
      clearInterval(ticker)
      assert.equal(deleted, old.length)
      assert.ok(turns >= 2, `the event loop ran during pruning (${turns} turns)`)
      assert.deepEqual((await opened.history.messages({ chat: ALICE, limit: 10 })).messages.map((m) => m.messageID), ['NEW'], 'a message older than the retention is not stored')

      const zero = await open(await database.fresh(), 0)
      zero.socket.emitEvent('messages.upsert', { type: 'notify', messages: [text('KEEPNOT', now, 'x')] })
      await zero.store.settled()
      assert.equal(await zero.db.message.count(), 0)
      const chats = (await zero.history.chats({ limit: 10 })).chats
      assert.deepEqual(chats.map((c) => [c.jid, c.unreadCount, c.lastMessage]), [[ALICE, 1, null]], 'the chat is still listed')
    })

    test('deleting a session deletes its messages and chats', async () => {
      const opened = await open(await database.fresh())
      const db = opened.db
      opened.socket.emitEvent('messages.upsert', { type: 'notify', messages: [text('X1', Math.floor(Date.now() / 1000), 'x')] })
      await opened.store.settled()
      await db.message.create({ data: { session: 'other', id: 'X1', chat: ALICE, sender: ALICE, fromMe: false, type: 'text', sentAt: new Date(), status: 3, data: '{}' } })
      await deleteSessionRows(db, 'default')
      assert.deepEqual(await db.message.findMany({ select: { session: true } }), [{ session: 'other' }])
      assert.equal(await db.chat.count({ where: { session: 'default' } }), 0)
    })
  })
}
