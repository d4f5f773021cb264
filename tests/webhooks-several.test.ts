// Several webhooks per session (issue 16): each with its URL, filter, secret and on/off state, its
// own queue and counters, so that a receiver that is down holds nothing of another's; the contract's
// /api/webhook acts on the first. Against the real service and real receivers on loopback.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import { until, type Receiver } from './support/receiver.js'
import type { TestService } from './support/service.js'
import { assertRefused, call, webhookFixtures } from './support/webhook-fixtures.js'
import { sampleMessage } from './support/fixtures.js'

const { receiver, service } = webhookFixtures()

async function create(svc: TestService, body: Record<string, unknown>): Promise<{ id: string; [key: string]: unknown }> {
  const res = await call(svc, 'POST', '/api/webhooks', body)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body
}

const session = (svc: TestService) => svc.services.sessions.get('default')

async function record(svc: TestService, i: number | string): Promise<string[]> {
  return (await (await session(svc)).events.record('message', sampleMessage(i))).deliveryIds
}

const sign = (secret: string, body: Buffer) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`
const messageIds = (hook: Receiver) => hook.delivered.map((r) => (JSON.parse(r.text) as { data: { messageID: string } }).data.messageID)

describe('several webhooks', () => {
  test('one receiver down: the other gets everything at once and in order; the first gets it all when back, in order, each signed with its own secret', async () => {
    const down = await receiver()
    await down.down()
    const up = await receiver()
    const svc = await service({ WEBHOOK_CONCURRENCY: '1' })
    const a = await create(svc, { url: down.url, events: ['message'], secret: 'secret-a' })
    const b = await create(svc, { url: up.url, events: ['message'], secret: 'secret-b' })
    assert.deepEqual([a.first, b.first], [true, false])

    const expected = Array.from({ length: 20 }, (_, i) => `M${i}`)
    const ids: string[][] = []
    for (let i = 0; i < 20; i++) ids.push(await record(svc, i))
    assert.ok(ids.every((pair) => pair.length === 2 && pair[0] !== pair[1]), 'one delivery per webhook, each with its own id')

    await up.waitFor(() => up.delivered.length === 20, 10_000, 'the working receiver to get all 20')
    assert.deepEqual(messageIds(up), expected)
    assert.deepEqual(up.delivered.map((r) => r.deliveryId), ids.map((pair) => pair[1]))
    for (const request of up.delivered) assert.equal(request.headers['x-wsgo-signature'], sign('secret-b', request.body))

    // The down receiver's queue waits on its own: its head is retried, nothing else of it was sent.
    const stateA = await until(async () => {
      const body = (await call(svc, 'GET', `/api/webhooks/${a.id}`)).body
      return body.pending === 20 ? body : undefined
    }, 'webhook A to hold 20 pending')
    assert.deepEqual([stateA.delivered, stateA.failed, stateA.dead], [0, 0, 0])
    const stateB = (await call(svc, 'GET', `/api/webhooks/${b.id}`)).body
    await until(async () => (await call(svc, 'GET', `/api/webhooks/${b.id}`)).body.delivered === 20, 'B counted 20 delivered')
    assert.equal(stateB.pending + stateB.delivered, 20)
    const tried = await svc.db.webhookDelivery.findMany({ where: { webhook: a.id, attempts: { gt: 0 } }, select: { id: true } })
    assert.deepEqual(tried.map((row) => row.id), [ids[0]![0]], 'only the oldest delivery of A was tried')
    // The contract's view is the first webhook's.
    const contract = (await call(svc, 'GET', '/api/webhook')).body
    assert.deepEqual([contract.url, contract.pending, contract.secretSet], [down.url, 20, true])

    await down.up()
    await down.waitFor(() => down.delivered.length === 20, 10_000, 'the recovered receiver to get all 20')
    assert.deepEqual(messageIds(down), expected)
    assert.deepEqual(down.delivered.map((r) => r.deliveryId), ids.map((pair) => pair[0]))
    for (const request of down.delivered) assert.equal(request.headers['x-wsgo-signature'], sign('secret-a', request.body))
    assert.equal(up.requests.length, 20, 'B got nothing twice')
  })

  test('filters, pause and resume, the contract acting on the first, delete', async () => {
    const one = await receiver()
    const two = await receiver()
    const svc = await service()
    // POST /api/webhook on a session without webhooks makes the first.
    assert.equal((await call(svc, 'POST', '/api/webhook', { url: one.url, events: ['message'] })).status, 200)
    const listed = (await call(svc, 'GET', '/api/webhooks')).body as Array<{ id: string; url: string; first: boolean }>
    assert.deepEqual(listed.map((w) => [w.url, w.first]), [[one.url, true]])
    const first = listed[0]!.id
    const second = await create(svc, { url: two.url, events: ['qr'] })
    assert.deepEqual(
      Object.keys(second).sort(),
      ['createdAt', 'dead', 'delivered', 'enabled', 'events', 'failed', 'first', 'id', 'pending', 'secretSet', 'url'],
    )
    assert.deepEqual([second.url, second.events, second.enabled, second.secretSet, second.first], [two.url, ['qr'], true, false, false])

    // Each gets what it asked for.
    const events = (await session(svc)).events
    await events.record('qr', { qr: 'code-1' })
    await events.record('message', sampleMessage(1))
    await one.waitFor(() => one.delivered.length === 1)
    await two.waitFor(() => two.delivered.length === 1)
    assert.deepEqual([one.delivered[0]!.event, two.delivered[0]!.event], ['message', 'qr'])

    // The contract's POST changes the first only.
    assert.equal((await call(svc, 'POST', '/api/webhook', { url: one.url, events: ['message', 'qr'] })).status, 200)
    assert.deepEqual((await call(svc, 'GET', `/api/webhooks/${second.id}`)).body.events, ['qr'])

    // Paused: nothing new is queued for it; its backlog waits and goes out when it is on again.
    two.script = () => 503
    await events.record('qr', { qr: 'code-2' })
    await two.waitFor((r) => r.length === 2)
    const paused = await call(svc, 'PATCH', `/api/webhooks/${second.id}`, { enabled: false })
    assert.equal(paused.status, 200, JSON.stringify(paused.body))
    assert.equal(paused.body.enabled, false)
    await events.record('qr', { qr: 'code-3' })
    two.script = () => 200
    await new Promise((resolve) => setTimeout(resolve, 300))
    assert.equal(two.delivered.length, 1, 'nothing is sent while paused')
    assert.equal((await call(svc, 'GET', `/api/webhooks/${second.id}`)).body.pending, 1, 'the backlog is kept, the paused-time event not queued')
    assert.equal((await call(svc, 'PATCH', `/api/webhooks/${second.id}`, { enabled: true })).status, 200)
    await two.waitFor(() => two.delivered.length === 2)
    assert.equal((JSON.parse(two.delivered[1]!.text) as { data: { qr: string } }).data.qr, 'code-2')
    assert.ok(one.delivered.some((r) => r.text.includes('code-3')), 'the first got it')

    // Deleted: gone with its deliveries; the other becomes first when the first goes.
    const removed = await call(svc, 'DELETE', `/api/webhooks/${first}`)
    assert.deepEqual(removed.body, { id: first, deleted: true })
    assert.equal((await call(svc, 'GET', `/api/webhooks/${first}`)).status, 404)
    assert.equal(await svc.db.webhookDelivery.count({ where: { webhook: first } }), 0)
    assert.equal((await call(svc, 'GET', '/api/webhook')).body.url, two.url)
    assert.equal((await call(svc, 'DELETE', `/api/webhooks/${first}`)).status, 404)

    // Over tRPC too.
    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${svc.url}/trpc` })] })
    assert.deepEqual((await client.webhooks.list.query()).map((w) => w.id), [second.id])
  })

  test('bad input is a 400 naming the field; an unknown id a 404', async () => {
    const svc = await service()
    for (const [body, field] of [
      [{}, 'url'],
      [{ url: 'ftp://example.com/hook' }, 'url'],
      [{ url: 'http://127.0.0.1:9/hook', events: ['nope'] }, 'events.0'],
      [{ url: 'http://127.0.0.1:9/hook', enabled: 'yes' }, 'enabled'],
      [{ url: 'http://127.0.0.1:9/hook', enabled: 'false' }, 'enabled'],
      [{ url: 'http://127.0.0.1:9/hook', secret: '' }, 'secret'],
    ] as const) {
      assertRefused(await call(svc, 'POST', '/api/webhooks', body), field, JSON.stringify(body))
    }
    const created = await create(svc, { url: 'http://127.0.0.1:9/hook' })
    assertRefused(await call(svc, 'PATCH', `/api/webhooks/${created.id}`, { url: 'not a url' }), 'url')
    assert.equal((await call(svc, 'PATCH', '/api/webhooks/nope', { enabled: false })).status, 404)
    assert.equal((await call(svc, 'GET', '/api/webhooks/nope')).body.code, 'NOT_FOUND')
  })

  test('at most 20 per session: the 21st is a 409', async () => {
    const svc = await service()
    for (let i = 0; i < 20; i++) await create(svc, { url: `http://127.0.0.1:9/hook${i}`, enabled: false })
    const refused = await call(svc, 'POST', '/api/webhooks', { url: 'http://127.0.0.1:9/one-more' })
    assert.equal(refused.status, 409)
    assert.equal((await call(svc, 'GET', '/api/webhooks')).body.length, 20)
  })
})
