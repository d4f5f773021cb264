// No poison queue (issue 16): a delivery the receiver refuses for good is set aside as `dead` after a
// few attempts and the rest go on in order; dead, failed and delivered ones can be listed page by
// page and put back in line (one, or many by status and time) with the same delivery id. Against
// the real service and a real receiver on loopback.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import type { AttemptOutcome } from '../src/webhooks/worker.js'
import type { Delivery } from '../src/webhooks/outbox.js'
import { until } from './support/receiver.js'
import type { TestService } from './support/service.js'
import { assertRefused, call, webhookFixtures } from './support/webhook-fixtures.js'
import { sampleMessage } from './support/fixtures.js'

const { receiver, service } = webhookFixtures()

async function deliveries(svc: TestService, query = ''): Promise<Delivery[]> {
  const res = await call(svc, 'GET', `/api/webhook/deliveries${query}`)
  assert.equal(res.status, 200, JSON.stringify(res.body))
  return res.body as Delivery[]
}

const session = (svc: TestService) => svc.services.sessions.get('default')

async function record(svc: TestService, i: number | string): Promise<string> {
  const recorded = await (await session(svc)).events.record('message', sampleMessage(i))
  assert.ok(recorded.deliveryId, 'the event was queued for the webhook')
  return recorded.deliveryId
}

const statusOf = async (svc: TestService, id: string) => (await svc.db.webhookDelivery.findUniqueOrThrow({ where: { id } })).status

const messageIdOf = (text: string) => (JSON.parse(text) as { data: { messageID: string } }).data.messageID

describe('a delivery refused for good', () => {
  test('is dead after 3 refusals, the rest arrive in order, and a redeliver after the fix delivers it once with the same id', async () => {
    const hook = await receiver()
    let fixed = false
    hook.script = (r) => (messageIdOf(r.text) === 'Mbad' && !fixed ? { status: 400, body: 'no such template: bad' } : 200)
    // One at a time, so that arrival order is the queue's order (several in flight may overtake).
    const svc = await service({ WEBHOOK_CONCURRENCY: '1' })
    const outcomes: AttemptOutcome[] = []
    ;(await session(svc)).webhooks.onAttempt((outcome) => outcomes.push(outcome))
    assert.equal((await call(svc, 'POST', '/api/webhook', { url: hook.url, events: ['message'] })).status, 200)

    const ids = [await record(svc, 1), await record(svc, 'bad'), await record(svc, 3), await record(svc, 4), await record(svc, 5)]
    const bad = ids[1]!
    const good = ids.filter((id) => id !== bad)
    await hook.waitFor(() => hook.delivered.length === 4, 5_000, 'the four accepted events')
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), good, 'the rest arrive, in order')
    await until(async () => (await statusOf(svc, bad)) === 'dead', 'the refused delivery to be dead')
    assert.equal(hook.requests.filter((r) => r.deliveryId === bad).length, 3, 'refused three times, then no more')

    const [dead] = await deliveries(svc, '?status=dead')
    assert.deepEqual(
      { id: dead?.id, status: dead?.status, attempts: dead?.attempts, lastStatus: dead?.lastStatus, lastError: dead?.lastError, nextAttemptAt: dead?.nextAttemptAt },
      { id: bad, status: 'dead', attempts: 3, lastStatus: 400, lastError: 'HTTP 400: no such template: bad', nextAttemptAt: null },
    )
    const state = (await call(svc, 'GET', '/api/webhook')).body
    assert.deepEqual([state.pending, state.delivered, state.failed, state.dead], [0, 4, 0, 1])
    // Reported like any delivery given up.
    const reported = await until(async () => (await (await session(svc)).events.list({ limit: 5, type: 'webhook_failed' }))[0], 'the webhook_failed event')
    const first = (await session(svc)).webhooks.first!
    assert.deepEqual(reported.data, { deliveryId: bad, webhook: first.id, event: 'message', attempts: 3, error: 'HTTP 400: no such template: bad' })
    // The metrics hook heard every attempt with its outcome.
    assert.deepEqual(
      outcomes.filter((o) => o.status === 400).map((o) => [o.outcome, o.statusClass]),
      [['retry', '4xx'], ['retry', '4xx'], ['dead', '4xx']],
    )
    assert.equal(outcomes.filter((o) => o.outcome === 'delivered' && o.statusClass === '2xx').length, 4)

    // Fixed, it is sent again: once, with the same id, and delivered.
    fixed = true
    const redelivered = await call(svc, 'POST', `/api/webhook/deliveries/${bad}/redeliver`)
    assert.equal(redelivered.status, 200, JSON.stringify(redelivered.body))
    assert.deepEqual(redelivered.body, { id: bad, previousStatus: 'dead', status: 'pending' })
    await hook.waitFor(() => hook.delivered.length === 5, 5_000, 'the redelivered event')
    assert.equal(hook.delivered[4]!.deliveryId, bad)
    assert.equal(messageIdOf(hook.delivered[4]!.text), 'Mbad')
    await until(async () => (await statusOf(svc, bad)) === 'delivered', 'the redelivery to be recorded')
    await new Promise((resolve) => setTimeout(resolve, 200))
    assert.equal(hook.requests.filter((r) => r.deliveryId === bad).length, 4, 'three refusals and one success, nothing more')
    const row = await svc.db.webhookDelivery.findUniqueOrThrow({ where: { id: bad } })
    assert.deepEqual([row.attempts, row.lastStatus], [1, 200])
  })

  test('408, 409, 425 and 429 are not refusals: retried until they pass, never dead', async () => {
    const hook = await receiver()
    hook.answers.push(408, 409, 425, 429, 429)
    const svc = await service()
    await call(svc, 'POST', '/api/webhook', { url: hook.url, events: ['message'] })
    const id = await record(svc, 1)
    await hook.waitFor(() => hook.delivered.length === 1, 5_000)
    await until(async () => (await statusOf(svc, id)) === 'delivered', 'delivered')
    assert.deepEqual(hook.requests.map((r) => r.status), [408, 409, 425, 429, 429, 200])
  })

  test('404 and 422 are refusals too; a receiver that later accepts before the third attempt delivers', async () => {
    const hook = await receiver()
    hook.script = (r) => (messageIdOf(r.text) === 'M1' ? 404 : 200)
    hook.answers.push(422, 422) // the first two attempts at M0
    const svc = await service()
    await call(svc, 'POST', '/api/webhook', { url: hook.url, events: ['message'] })
    const recovered = await record(svc, 0)
    await until(async () => (await statusOf(svc, recovered)) === 'delivered', 'M0 delivered on its third attempt')
    const refused = await record(svc, 1)
    await until(async () => (await statusOf(svc, refused)) === 'dead', 'M1 dead')
    const row = await svc.db.webhookDelivery.findUniqueOrThrow({ where: { id: refused } })
    assert.deepEqual([row.attempts, row.lastStatus, row.lastError], [3, 404, 'HTTP 404'])
  })
})

describe('redelivery', () => {
  test('in bulk by status and time, oldest first, each with its own id; bounded by limit', async () => {
    const hook = await receiver()
    let refuse = true
    hook.script = () => (refuse ? 422 : 200)
    const svc = await service()
    await call(svc, 'POST', '/api/webhook', { url: hook.url, events: ['message'] })
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push(await record(svc, i))
    await until(async () => (await deliveries(svc, '?status=dead')).length === 3, 'three dead deliveries')
    const requestsBefore = hook.requests.length
    const since = new Date(Date.now() + 60_000).toISOString()
    assert.deepEqual((await call(svc, 'POST', '/api/webhook/deliveries/redeliver', { status: 'dead', since })).body, { count: 0 }, 'none queued since a future time')

    refuse = false
    const first = await call(svc, 'POST', '/api/webhook/deliveries/redeliver', { status: 'dead', limit: 2 })
    assert.deepEqual(first.body, { count: 2 })
    await hook.waitFor(() => hook.delivered.length === 2, 5_000)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), ids.slice(0, 2), 'the oldest first, same ids')
    const rest = await call(svc, 'POST', '/api/webhook/deliveries/redeliver', { status: 'dead', since: '2000-01-01T00:00:00Z' })
    assert.deepEqual(rest.body, { count: 1 })
    await hook.waitFor(() => hook.delivered.length === 3, 5_000)
    assert.deepEqual(hook.delivered.map((r) => r.deliveryId), ids)
    assert.equal(hook.requests.length, requestsBefore + 3, 'each sent once more')

    // Delivered ones can be replayed too, over tRPC as well.
    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${svc.url}/trpc` })] })
    await until(async () => (await deliveries(svc, '?status=delivered')).length === 3, 'all delivered')
    assert.deepEqual(await client.webhook.redeliver.mutate({ id: ids[0]! }), { id: ids[0], previousStatus: 'delivered', status: 'pending' })
    await hook.waitFor(() => hook.delivered.length === 4, 5_000)
    assert.equal(hook.delivered[3]!.deliveryId, ids[0])
  })

  test('an unknown id is a 404, one still waiting a 409, and bad input a 400 naming the field', async () => {
    const hook = await receiver()
    hook.script = () => 503
    const svc = await service()
    await call(svc, 'POST', '/api/webhook', { url: hook.url, events: ['message'] })
    const waiting = await record(svc, 1)
    await hook.waitFor((r) => r.length >= 1)

    const unknown = await call(svc, 'POST', '/api/webhook/deliveries/nope/redeliver')
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.code, 'NOT_FOUND')
    const pending = await call(svc, 'POST', `/api/webhook/deliveries/${waiting}/redeliver`)
    assert.equal(pending.status, 409)
    assert.equal(pending.body.code, 'CONFLICT')

    for (const [body, field] of [
      [{ status: 'pending' }, 'status'],
      [{}, 'status'],
      [{ status: 'dead', since: 'yesterday' }, 'since'],
      [{ status: 'dead', limit: 0 }, 'limit'],
      [{ status: 'dead', limit: 'all' }, 'limit'],
      [{ status: 'dead', limit: '5' }, 'limit'],
    ] as const) {
      assertRefused(await call(svc, 'POST', '/api/webhook/deliveries/redeliver', body), field, JSON.stringify(body))
    }
    assertRefused(await call(svc, 'GET', '/api/webhook/deliveries?status=gone'), 'status')
    assertRefused(await call(svc, 'GET', '/api/webhook/deliveries?before=nope'), 'before')
  })
})

describe('listing', () => {
  test('pages newest first with `before`, every delivery once, within a status too', async () => {
    const hook = await receiver()
    hook.script = (r) => (Number(messageIdOf(r.text).slice(1)) % 3 === 0 ? 400 : 200)
    const svc = await service()
    await call(svc, 'POST', '/api/webhook', { url: hook.url, events: ['message'] })
    const ids: string[] = []
    for (let i = 1; i <= 12; i++) ids.push(await record(svc, i))
    await until(async () => (await svc.db.webhookDelivery.count({ where: { status: { in: ['delivered', 'dead'] } } })) === 12, 'all settled', 10_000)

    const seen: string[] = []
    let before: string | undefined
    for (;;) {
      const page = await deliveries(svc, `?limit=5${before ? `&before=${before}` : ''}`)
      assert.ok(page.length <= 5)
      seen.push(...page.map((d) => d.id))
      if (page.length < 5) break
      before = page.at(-1)!.id
    }
    assert.deepEqual(seen, [...ids].reverse())

    const dead = ids.filter((_, i) => (i + 1) % 3 === 0)
    const firstDead = await deliveries(svc, '?status=dead&limit=2')
    const nextDead = await deliveries(svc, `?status=dead&limit=2&before=${firstDead[1]!.id}`)
    assert.deepEqual([...firstDead, ...nextDead].map((d) => d.id), [...dead].reverse())
  })
})
