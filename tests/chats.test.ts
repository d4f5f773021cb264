// Chats and stored messages through the running service, paired with the WhatsApp stand-in over real
// Baileys: what is sent and received lands in the chat's history in order, with its acks, edits and
// deletions; history the phone pushes fills the same store; pages return every message exactly once
// in both directions; bad cursors and filters are 400s that name the field.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Validator } from '@seriousme/openapi-schema-validator'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import { editMessage, revokeMessage, sendReadReceipt } from './standin/message-changes.js'
import { ALICE, BOB, OWN, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

const GROUP = { jid: '120363000000000077@g.us', subject: 'Chats Group', desc: '', creation: 1705312800 }
const ALICE_PN = `${ALICE.phone}@s.whatsapp.net`
const BOB_PN = `${BOB.phone}@s.whatsapp.net`
const CAROL = { phone: '15550004444', lid: '88880004444', pushName: 'Carol' }
const CAROL_PN = `${CAROL.phone}@s.whatsapp.net`
const OWN_PN = `${OWN.phone}@s.whatsapp.net`

interface Stored {
  messageID: string
  from: string
  chat: string
  text: string
  type: string
  fromMe?: boolean
  fromLid?: string
  timestamp: string
  status: string
  edited: boolean
  deleted: boolean
  receipts?: Array<{ jid: string; deliveredAt: string | null; readAt: string | null }>
  cursor: string
}
interface Page {
  messages: Stored[]
  older: string | null
  newer: string | null
}
interface ChatRow {
  jid: string
  isGroup: boolean
  phone: string | null
  lid: string | null
  name: string | null
  unreadCount: number
  lastActivityAt: string
  lastMessage: Stored | null
}

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })

describe('chats and stored messages', () => {
  let h: WhatsAppHarness
  const get = async <T>(path: string): Promise<T> => {
    const res = await fetch(`${h.url}${path}`)
    if (res.status !== 200) assert.fail(`${path}: ${res.status} ${await res.text()}`)
    return (await res.json()) as T
  }
  const history = (jid: string, query = '') => get<Page>(`/api/chats/${encodeURIComponent(jid)}/messages${query}`)
  const send = async (phone: string, message: string) => {
    const res = await post(`${h.url}/api/send/text`, { phone, message })
    assert.equal(res.status, 200, await res.clone().text())
    return ((await res.json()) as { messageID: string }).messageID
  }
  /** A stored message; `{}` while it is not stored yet, so polls keep polling. */
  const message = async (id: string): Promise<Stored> => {
    const res = await fetch(`${h.url}/api/messages/${id}`)
    if (res.status === 404) return {} as Stored
    assert.equal(res.status, 200)
    return (await res.json()) as Stored
  }
  const until = <T>(what: string, probe: () => Promise<T | undefined>) => waitUntil(what, probe, 10_000, 50)

  before(async () => {
    h = await startWithStandIn()
    h.standin.setGroups([{ ...GROUP, participants: [ALICE, BOB] }])
    await h.pair()
  })
  after(() => h.close())

  test('a conversation is kept in order with its acks, edits and deletions', async () => {
    const one = await h.standin.sendText(ALICE, 'one')
    await until('the first message', async () => (await history(ALICE_PN)).messages.length === 1 || undefined)
    const two = await send(ALICE.phone, 'two')
    await h.standin.waitForOutgoing((m) => m.id === two)
    const three = await h.standin.sendText(ALICE, 'three')
    const page = await until('three messages', async () => {
      const p = await history(ALICE_PN)
      return p.messages.length === 3 ? p : undefined
    })
    assert.deepEqual(
      page.messages.map((m) => [m.messageID, m.from, m.chat, m.text, Boolean(m.fromMe)]),
      [
        [one, ALICE_PN, ALICE_PN, 'one', false],
        [two, OWN_PN, ALICE_PN, 'two', true],
        [three, ALICE_PN, ALICE_PN, 'three', false],
      ],
    )
    assert.deepEqual([page.older, page.newer], [null, null], 'one page holds the whole chat')
    assert.equal(page.messages[0]!.fromLid, `${ALICE.lid}@lid`)

    // Alice's phone confirms delivery of ours (the stand-in does so by itself), then reads it.
    await until('delivered', async () => ((await message(two)).status === 'delivered' ? true : undefined))
    sendReadReceipt(h.standin, two)
    await until('read', async () => ((await message(two)).status === 'read' ? true : undefined))

    // Alice edits her first message and deletes her last one for everyone.
    await h.standin.sendMessage(ALICE, editMessage(one, OWN_PN, 'one, edited'))
    await h.standin.sendMessage(ALICE, revokeMessage(three, OWN_PN))
    const edited = await until('the edit', async () => {
      const m = await message(one)
      return m.edited ? m : undefined
    })
    assert.equal(edited.text, 'one, edited')
    const deleted = await until('the deletion', async () => {
      const m = await message(three)
      return m.deleted ? m : undefined
    })
    assert.equal(deleted.text, '')
    // The protocol messages themselves are not messages of the chat.
    const after = await history(ALICE_PN)
    assert.deepEqual(
      after.messages.map((m) => [m.messageID, m.text, m.status, m.edited, m.deleted]),
      [
        [one, 'one, edited', 'delivered', true, false],
        [two, 'two', 'read', false, false],
        [three, '', 'delivered', false, true],
      ],
    )

    // The chat: Alice's number and LID, her push name, newest activity, one unread since our reply.
    const { chats } = await get<{ chats: ChatRow[]; next: string | null }>('/api/chats')
    const chat = chats.find((c) => c.jid === ALICE_PN)!
    assert.deepEqual(
      { phone: chat.phone, lid: chat.lid, name: chat.name, unread: chat.unreadCount, last: chat.lastMessage?.messageID, isGroup: chat.isGroup },
      { phone: ALICE.phone, lid: `${ALICE.lid}@lid`, name: ALICE.pushName, unread: 1, last: three, isGroup: false },
    )

    // The same through tRPC and through the per-session path.
    const trpc = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${h.url}/trpc` })] })
    const viaTrpc = await trpc.chats.messages.query({ jid: ALICE_PN })
    assert.deepEqual(viaTrpc.messages.map((m) => m.messageID), [one, two, three])
    assert.equal((await trpc.chats.message.query({ id: two })).status, 'read')
    assert.deepEqual((await get<Page>(`/api/sessions/default/chats/${ALICE_PN}/messages`)).messages.map((m) => m.messageID), [one, two, three])
  })

  test('group messages: each member\'s receipts on what we sent, filters by sender', async () => {
    const fromAlice = await h.standin.sendText(ALICE, 'hello group', { group: GROUP.jid })
    // Within one second, the order is the order the store got them in: let Alice's land first.
    await until('Alice\'s group message', async () => (await message(fromAlice)).messageID)
    const fromBob = await h.standin.sendText(BOB, 'hi from bob', { group: GROUP.jid })
    await until('Bob\'s group message', async () => (await message(fromBob)).messageID)
    const ours = await (async () => {
      const res = await post(`${h.url}/api/send/group`, { group_jid: GROUP.jid, message: 'hello both' })
      assert.equal(res.status, 200, await res.clone().text())
      return ((await res.json()) as { messageID: string }).messageID
    })()
    await h.standin.waitForOutgoing((m) => m.id === ours)
    const withReceipts = await until('both members\' delivery receipts', async () => {
      const m = await message(ours)
      return m.receipts?.length === 2 && m.receipts.every((r) => r.deliveredAt) ? m : undefined
    })
    assert.deepEqual(withReceipts.receipts!.map((r) => r.jid).sort(), [ALICE_PN, BOB_PN])
    assert.equal(withReceipts.status, 'delivered')
    sendReadReceipt(h.standin, ours, { member: h.standin.contact(BOB) })
    const read = await until('Bob read it', async () => {
      const m = await message(ours)
      return m.receipts?.find((r) => r.jid === BOB_PN)?.readAt ? m : undefined
    })
    assert.equal(read.receipts!.find((r) => r.jid === ALICE_PN)!.readAt, null)

    // A member edits their message in the group.
    await h.standin.sendMessage(BOB, editMessage(fromBob, GROUP.jid, 'hi from bob, edited'), { group: GROUP.jid })
    const edited = await until('Bob\'s edit', async () => {
      const m = await message(fromBob)
      return m.edited ? m : undefined
    })
    assert.deepEqual([edited.text, edited.from, edited.chat], ['hi from bob, edited', BOB_PN, GROUP.jid])

    const all = await history(GROUP.jid)
    assert.deepEqual(all.messages.map((m) => m.messageID), [fromAlice, fromBob, ours])
    assert.deepEqual((await history(GROUP.jid, `?sender=${BOB.phone}`)).messages.map((m) => m.messageID), [fromBob])
    assert.deepEqual((await history(GROUP.jid, `?sender=${encodeURIComponent(`${ALICE.lid}@lid`)}`)).messages.map((m) => m.messageID), [fromAlice], 'a LID finds the person too')
    const { chats } = await get<{ chats: ChatRow[] }>('/api/chats')
    // (Which chat comes first is the paging test's: within one second the order is by JID.)
    const group = chats.find((c) => c.jid === GROUP.jid)!
    assert.deepEqual([group.isGroup, group.lastMessage?.messageID, group.phone, group.lid], [true, ours, null, null])
  })

  test('history the phone pushes fills the store; pages return every message once, both ways', async () => {
    // Carol's chat from before the device was linked: 23 messages a minute apart, some ours, one image.
    const start = Math.floor(Date.now() / 1000) - 3600
    const ids = Array.from({ length: 23 }, (_, i) => `HIST${String(i).padStart(4, '0')}`)
    const messages = ids.map((id, i) => ({
      key: { remoteJid: CAROL_PN, fromMe: i % 5 === 0, id },
      messageTimestamp: start + i * 60,
      ...(i === 7 ? { message: { imageMessage: { mimetype: 'image/jpeg', caption: 'a picture' } } } : { message: { conversation: `history ${i}` } }),
      status: i % 5 === 0 ? 4 : 3,
      ...(i % 5 !== 0 && { pushName: CAROL.pushName }),
    }))
    // Baileys lists a chat's history newest first, as WhatsApp sends it.
    await h.standin.sendHistorySync({ syncType: 'RECENT', conversations: [{ id: CAROL_PN, name: 'Carol Cooper', unreadCount: 2, messages: [...messages].reverse() }] })
    await until('the history', async () => ((await history(CAROL_PN)).messages.length === 23 ? true : undefined))

    // The chunk's messages are written first, then each chat moves to its newest.
    const chat = await until('Carol\'s chat at its newest message', async () => {
      const found = (await get<{ chats: ChatRow[] }>('/api/chats?limit=200')).chats.find((c) => c.jid === CAROL_PN)
      return found?.lastMessage ? found : undefined
    })
    assert.deepEqual({ name: chat.name, unread: chat.unreadCount, last: chat.lastMessage?.messageID }, { name: 'Carol Cooper', unread: 2, last: ids.at(-1) })
    const image = await message(ids[7]!)
    assert.deepEqual([image.type, image.text, image.from], ['image', 'a picture', CAROL_PN])
    assert.equal((await message(ids[5]!)).status, 'read')

    // Backwards from the newest, 5 at a time.
    const backwards: string[] = []
    let page = await history(CAROL_PN, '?limit=5')
    assert.equal(page.newer, null)
    for (;;) {
      backwards.unshift(...page.messages.map((m) => m.messageID))
      if (!page.older) break
      page = await history(CAROL_PN, `?limit=5&before=${page.older}`)
    }
    assert.deepEqual(backwards, ids)
    // Forwards from the oldest.
    const oldest = (await history(CAROL_PN, '?limit=23')).messages[0]!
    assert.equal(oldest.messageID, ids[0])
    assert.deepEqual((await history(CAROL_PN, `?before=${oldest.cursor}&after=${oldest.cursor}`)).messages, [], 'nothing lies between a message and itself')
    const forwards = [oldest.messageID]
    let cursor = oldest.cursor
    for (;;) {
      page = await history(CAROL_PN, `?limit=4&after=${cursor}`)
      forwards.push(...page.messages.map((m) => m.messageID))
      if (!page.newer) break
      cursor = page.newer
    }
    assert.deepEqual(forwards, ids)

    // Filters: type, time window, both with pagination.
    assert.deepEqual((await history(CAROL_PN, '?type=image')).messages.map((m) => m.messageID), [ids[7]])
    const since = new Date((start + 10 * 60) * 1000).toISOString()
    const until_ = new Date((start + 14 * 60) * 1000).toISOString()
    const window = await history(CAROL_PN, `?since=${since}&until=${until_}&limit=3`)
    assert.deepEqual(window.messages.map((m) => m.messageID), ids.slice(12, 15))
    assert.ok(window.older && !window.newer)
    assert.deepEqual((await history(CAROL_PN, `?since=${since}&until=${until_}&limit=3&before=${window.older}`)).messages.map((m) => m.messageID), ids.slice(10, 12))
  })

  test('chats page by newest activity, each exactly once', async () => {
    const seen: string[] = []
    let next: string | null = null
    do {
      const page: { chats: ChatRow[]; next: string | null } = await get(`/api/chats?limit=1${next ? `&after=${next}` : ''}`)
      seen.push(...page.chats.map((c) => c.jid))
      next = page.next
    } while (next)
    const all = (await get<{ chats: ChatRow[] }>('/api/chats?limit=200')).chats
    assert.deepEqual(seen, all.map((c) => c.jid))
    assert.equal(new Set(seen).size, seen.length)
    assert.deepEqual([...seen].sort(), [ALICE_PN, CAROL_PN, GROUP.jid].sort())
    const times = all.map((c) => c.lastActivityAt)
    assert.deepEqual(times, [...times].sort().reverse())
  })

  test('the OpenAPI document lists the chat paths, also per session, and stays valid', async () => {
    const document = await get<{ paths: Record<string, { get?: { parameters?: Array<{ name: string }> } }> }>('/openapi.json')
    const result = await new Validator().validate(document as Parameters<Validator['validate']>[0])
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
    for (const path of ['/api/chats', '/api/chats/{jid}/messages', '/api/messages/{id}']) {
      assert.ok(document.paths[path]?.get, path)
      assert.ok(document.paths[`/api/sessions/{session}${path.slice('/api'.length)}`]?.get, `${path} per session`)
    }
    const names = document.paths['/api/chats/{jid}/messages']!.get!.parameters!.map((p) => p.name).sort()
    assert.deepEqual(names, ['after', 'before', 'jid', 'limit', 'sender', 'since', 'type', 'until'])
  })

  test('bad cursors, filters and ids are 400s naming the field; an unknown id is a 404', async () => {
    const cases: Array<[string, string]> = [
      ['/api/chats?after=nonsense', 'after'],
      ['/api/chats?limit=0', 'limit'],
      [`/api/chats?limit=201`, 'limit'],
      [`/api/chats/${ALICE_PN}/messages?before=abc`, 'before'],
      [`/api/chats/${ALICE_PN}/messages?after=${Buffer.from('c:1:x@s.whatsapp.net').toString('base64url')}`, 'after'],
      [`/api/chats/${ALICE_PN}/messages?type=poem`, 'type'],
      [`/api/chats/${ALICE_PN}/messages?sender=not-a-person`, 'sender'],
      [`/api/chats/${ALICE_PN}/messages?since=yesterday`, 'since'],
      [`/api/chats/${ALICE_PN}/messages?until=2026-13-45T99:00:00Z`, 'until'],
      ['/api/chats/someone/messages', 'jid'],
      ['/api/messages/not%20an%20id', 'id'],
    ]
    for (const [path, field] of cases) {
      const res = await fetch(`${h.url}${path}`)
      const body = (await res.json()) as { code: string; issues?: Array<{ path: string }> }
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(body)}`)
      assert.equal(body.code, 'VALIDATION_ERROR', path)
      assert.deepEqual(body.issues?.map((i) => i.path), [field], path)
    }
    const missing = await fetch(`${h.url}/api/messages/3EB0NOTSTORED`)
    assert.equal(missing.status, 404)
    assert.equal(((await missing.json()) as { code: string }).code, 'NOT_FOUND')
  })
})
