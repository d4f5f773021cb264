// Idempotent sends (issue 16): a send retried with the same Idempotency-Key (REST header) or
// `idempotencyKey` (tRPC field) within 24 h answers the first result and sends once, also after a
// restart on the same database. "Sends once" is read on the stand-in's side: its phones decrypt
// every message the device sends, so the count of decrypted messages with the text is the truth.
// The message id is chosen when the key is taken and kept with it, so a retry that has to send again
// (the first call's answer was lost: tests/idempotency-crash.test.ts) sends under the same id.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import QRCode from 'qrcode'
import { ALICE, BOB, waitUntil } from './support/whatsapp.js'
import { errorOf, GROUP, pairedForSends, trpcError, trpcFor, type SendAnswer, type SendHarness } from './support/sends.js'

let s: SendHarness
before(async () => {
  s = await pairedForSends()
})
after(() => s.close())
// The restart moves the service to another port: a client for where it is now.
const trpc = () => trpcFor(s.h.url)

const sendText = (body: unknown, key?: string) =>
  fetch(`${s.h.url}/api/send/text`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key !== undefined && { 'idempotency-key': key }) }, body: JSON.stringify(body) })

async function okAnswer(res: Response): Promise<SendAnswer> {
  const text = await res.text()
  assert.equal(res.status, 200, text)
  return JSON.parse(text) as SendAnswer
}

/** How many messages with `text` the stand-in's phones decrypted, after time for a stray duplicate to arrive. */
async function decrypted(text: string): Promise<number> {
  await s.h.standin.waitForOutgoing((m) => m.text === text)
  await new Promise((resolve) => setTimeout(resolve, 300))
  return s.h.standin.outbox().filter((m) => m.text === text && m.copy === 1).length
}

describe('Idempotency-Key', () => {
  test('a retried REST send with the same key sends once and answers the first messageID, also after a restart', async () => {
    const key = `retry-${Date.now()}`
    const body = { phone: ALICE.phone, message: 'idempotent hello' }
    const first = await okAnswer(await sendText(body, key))
    const again = await okAnswer(await sendText(body, key))
    assert.deepEqual(again, first)
    // The same request with its fields in another order is the same request.
    const reordered = await okAnswer(await sendText({ message: body.message, phone: body.phone }, key))
    assert.equal(reordered.messageID, first.messageID)
    assert.equal(await decrypted(body.message), 1)

    await s.h.restart()
    await s.h.waitForStatus((status) => status.loggedIn)
    const afterRestart = await okAnswer(await sendText(body, key))
    assert.deepEqual(afterRestart, first)
    assert.equal(await decrypted(body.message), 1)

    // Without a key, or with another key, the same body is a new message.
    const other = await okAnswer(await sendText(body, `${key}-other`))
    assert.notEqual(other.messageID, first.messageID)
    await s.h.standin.waitForOutgoing((m) => m.id === other.messageID)
    assert.equal(s.h.standin.outbox().filter((m) => m.text === body.message && m.copy === 1).length, 2)
  })

  test('the same key with a different request is refused, naming the key; nothing is sent', async () => {
    const key = `conflict-${Date.now()}`
    await okAnswer(await sendText({ phone: ALICE.phone, message: 'first body' }, key))
    const refused = await errorOf(await sendText({ phone: ALICE.phone, message: 'second body' }, key))
    assert.equal(refused.status, 409)
    assert.equal(refused.code, 'CONFLICT')
    assert.match(refused.error, new RegExp(`Idempotency-Key "${key}"`))
    assert.deepEqual(refused.paths, ['Idempotency-Key'])
    // Another procedure with the same key is another request too.
    const otherProcedure = await errorOf(await fetch(`${s.h.url}/api/send/group`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify({ group: GROUP.jid, message: 'first body' }) }))
    assert.equal(otherProcedure.status, 409)
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(s.h.standin.outbox().filter((m) => m.text === 'second body').length, 0)
  })

  test('over tRPC: the idempotencyKey field', async () => {
    const idempotencyKey = `trpc-${Date.now()}`
    const input = { phone: ALICE.phone, message: 'idempotent over tRPC', idempotencyKey }
    const first = await trpc().messages.sendText.mutate(input as never)
    const again = await trpc().messages.sendText.mutate(input as never)
    assert.equal(again.messageID, first.messageID)
    assert.equal(await decrypted(input.message), 1)
    const refused = await trpcError(trpc().messages.sendText.mutate({ ...input, message: 'another text' } as never))
    assert.deepEqual([refused.status, refused.code, refused.paths], [409, 'CONFLICT', ['Idempotency-Key']])
    // The REST header and the tRPC field are one key space per session.
    const viaRest = await okAnswer(await sendText({ phone: ALICE.phone, message: input.message }, idempotencyKey))
    assert.equal(viaRest.messageID, first.messageID)
  })

  test('concurrent duplicates: one send; the others answer its result or 409 while it is in flight', async () => {
    const key = `concurrent-${Date.now()}`
    const body = { phone: ALICE.phone, message: 'concurrent idempotent' }
    const answers = await Promise.all([1, 2, 3, 4].map(() => sendText(body, key)))
    const statuses = answers.map((res) => res.status)
    assert.ok(statuses.every((status) => status === 200 || status === 409), String(statuses))
    const ids = new Set(await Promise.all(answers.filter((res) => res.status === 200).map(async (res) => ((await res.json()) as SendAnswer).messageID)))
    assert.equal(ids.size, 1)
    assert.equal(await decrypted(body.message), 1)
    // Once the first is done, a retry gets its answer.
    const retry = await okAnswer(await sendText(body, key))
    assert.ok(ids.has(retry.messageID))
  })

  test('a bad key is a 400 naming it; a request refused as invalid frees its key', async () => {
    const bad = await errorOf(await sendText({ phone: ALICE.phone, message: 'x' }, 'has spaces in it'))
    assert.deepEqual([bad.status, bad.code, bad.paths], [400, 'VALIDATION_ERROR', ['Idempotency-Key']])
    const badField = await trpcError(trpc().messages.sendText.mutate({ phone: ALICE.phone, message: 'x', idempotencyKey: 42 } as never))
    assert.deepEqual([badField.status, badField.paths], [400, ['idempotencyKey']])
    const key = `invalid-first-${Date.now()}`
    const invalid = await errorOf(await sendText({ phone: ALICE.phone }, key))
    assert.equal(invalid.status, 400)
    // The key was not kept for the invalid request: the corrected one goes through with it.
    const fixed = await okAnswer(await sendText({ phone: ALICE.phone, message: 'fixed request' }, key))
    assert.equal(fixed.status, 'sent')
  })
  test('every idempotent send goes out under the message id its key holds, chosen before the send', async () => {
    const row = (key: string) => s.h.service.db.idempotencyKey.findUnique({ where: { session_key: { session: 'default', key } } })
    const post = (path: string, body: unknown, key: string) => fetch(`${s.h.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(body) })
    const stamp = Date.now()
    const text = await okAnswer(await post('/api/send/text', { phone: ALICE.phone, message: 'pinned text' }, `pin-text-${stamp}`))
    const png = await QRCode.toBuffer('a pinned image', { width: 64 })
    const sends: Array<[string, Record<string, unknown>]> = [
      ['/api/send/image', { phone: ALICE.phone, image_base64: png.toString('base64'), caption: 'pinned image' }],
      ['/api/send/location', { phone: ALICE.phone, latitude: 4.6, longitude: -74.08, name: 'pinned place' }],
      ['/api/send/poll', { phone: ALICE.phone, question: 'pinned poll?', options: ['yes', 'no'] }],
      ['/api/send/reaction', { phone: ALICE.phone, message_id: text.messageID, emoji: '👍' }],
      ['/api/messages/edit', { phone: ALICE.phone, message_id: text.messageID, message: 'pinned text, edited' }],
      ['/api/messages/delete', { phone: ALICE.phone, message_id: text.messageID }],
      ['/api/send/group', { group_jid: GROUP.jid, message: 'pinned group text' }],
    ]
    const answers = [{ key: `pin-text-${stamp}`, id: text.messageID }]
    for (const [path, body] of sends) {
      const key = `pin-${path.split('/').pop()}-${stamp}`
      answers.push({ key, id: (await okAnswer(await post(path, body, key))).messageID })
    }
    for (const { key, id } of answers) {
      assert.equal((await row(key))?.messageId, id, `${key}: the answer's id is the one stored with the key`)
      await s.h.standin.waitForOutgoing((m) => m.id === id)
    }
  })

  test('a send cut off by the connection closing releases its key; the retry of that request keeps its message id', async () => {
    const CAROL = { phone: '15550004444', lid: '88880004444', pushName: 'Carol' }
    s.h.standin.contact(CAROL)
    s.h.standin.setRegistered([ALICE.phone, BOB.phone, CAROL.phone])
    const key = `cut-off-${Date.now()}`
    const body = { phone: CAROL.phone, message: 'cut off, then retried' }
    // The device has never written to Carol: the send waits for her devices, which WhatsApp does not
    // give, until the connection drops under it.
    s.h.standin.ignoreQueries('usync')
    const cutOff = sendText(body, key)
    const taken = await waitUntil('the key taken', async () => (await s.h.service.db.idempotencyKey.findUnique({ where: { session_key: { session: 'default', key } } })) ?? undefined)
    await new Promise((resolve) => setTimeout(resolve, 300))
    s.h.standin.ignoreQueries()
    s.h.standin.drop()
    const failed = await errorOf(await cutOff)
    assert.deepEqual([failed.status, failed.code], [503, 'NOT_CONNECTED'])
    const released = await s.h.service.db.idempotencyKey.findUnique({ where: { session_key: { session: 'default', key } } })
    assert.deepEqual([released?.state, released?.messageId], ['released', taken.messageId])
    await s.h.waitForStatus((status) => status.connected && status.loggedIn)
    const retried = await okAnswer(await sendText(body, key))
    assert.equal(retried.messageID, taken.messageId)
    assert.equal(await decrypted(body.message), 1)
  })
})
