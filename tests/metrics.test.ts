// GET /metrics (issue 16): Prometheus' text format, read back with a Prometheus text-format parser
// (parse-prometheus-text-format, a port of the Prometheus Python client's parser). The names and
// types are checked, and the counters are seen to move as one message arrives from the stand-in's
// contact, one goes out through the API, and one webhook delivery reaches a real receiver.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createRequire } from 'node:module'
import { Receiver } from './support/receiver.js'
import { startTestService } from './support/service.js'
import { ALICE, startWithStandIn, waitUntil, type WhatsAppHarness } from './support/whatsapp.js'

interface Family {
  name: string
  type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED'
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string> }>
}
// A CommonJS package without types: its one function, typed here.
const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[]

const METRICS_KEY = 'scrape-key-for-tests'
let h: WhatsAppHarness
let receiver: Receiver
before(async () => {
  receiver = await Receiver.start()
  h = await startWithStandIn({ METRICS_KEY })
  const set = await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${receiver.url}/hook`, events: ['message'] }) })
  assert.equal(set.status, 200)
  await h.pair()
})
after(async () => {
  await h.close()
  await receiver.close()
})

async function scrape(url = h.url, headers: Record<string, string> = { authorization: `Bearer ${METRICS_KEY}` }): Promise<Map<string, Family>> {
  const res = await fetch(`${url}/metrics`, { headers })
  const text = await res.text()
  assert.equal(res.status, 200, text)
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  return new Map(parse(text).map((family) => [family.name, family]))
}

/** The sample of `name` whose labels include `labels`: its value, 0 when absent (a counter not yet moved). */
function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const family = families.get(name)
  assert.ok(family, `${name} is exposed`)
  const sample = family.metrics.find((metric) => Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value))
  return sample ? Number(sample.value) : 0
}

/** A histogram's observation count (its +Inf bucket), over all its series. */
function countOf(families: Map<string, Family>, name: string): number {
  const family = families.get(name)
  assert.equal(family?.type, 'HISTOGRAM', `${name} is a histogram`)
  return family.metrics.reduce((sum, metric) => sum + Number(metric.buckets?.['+Inf'] ?? 0), 0)
}

test('the metrics have their names and types, and move as messages and deliveries flow', async () => {
  // A connect is counted once its `connected` event is recorded, which can trail the status the
  // pairing waited for.
  const before = await waitUntil('the connect counted', async () => {
    const scraped = await scrape()
    return valueOf(scraped, 'wsgo_connects_total', { session: 'default' }) >= 1 ? scraped : undefined
  })
  const types: Record<string, Family['type']> = {
    wsgo_session_state: 'GAUGE',
    wsgo_connects_total: 'COUNTER',
    wsgo_reconnects_total: 'COUNTER',
    wsgo_messages_total: 'COUNTER',
    wsgo_send_queue_depth: 'GAUGE',
    wsgo_sends_refused_total: 'COUNTER',
    wsgo_webhook_outbox_depth: 'GAUGE',
    wsgo_webhook_oldest_pending_age_seconds: 'GAUGE',
    wsgo_webhook_attempts_total: 'COUNTER',
    wsgo_webhook_delivery_seconds: 'HISTOGRAM',
    wsgo_webhook_attempt_seconds: 'HISTOGRAM',
    wsgo_decryption_failures_total: 'COUNTER',
    wsgo_nodejs_eventloop_lag_seconds: 'GAUGE',
    wsgo_nodejs_eventloop_lag_p99_seconds: 'GAUGE',
    wsgo_process_resident_memory_bytes: 'GAUGE',
    wsgo_nodejs_heap_size_used_bytes: 'GAUGE',
  }
  for (const [name, type] of Object.entries(types)) assert.equal(before.get(name)?.type, type, name)
  assert.equal(valueOf(before, 'wsgo_session_state', { session: 'default', state: 'open' }), 1)
  assert.equal(valueOf(before, 'wsgo_session_state', { session: 'default', state: 'qr' }), 0)
  assert.ok(valueOf(before, 'wsgo_connects_total', { session: 'default' }) >= 1)
  assert.ok(valueOf(before, 'wsgo_process_resident_memory_bytes', {}) > 0)

  // One message in, delivered to the receiver; one message out.
  await h.standin.sendText(ALICE, 'metrics in')
  await receiver.waitFor((requests) => requests.some((r) => r.event === 'message'), 10_000)
  const sent = await fetch(`${h.url}/api/send/text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: ALICE.phone, message: 'metrics out' }) })
  assert.equal(sent.status, 200, await sent.text())
  // The receiver has the delivery before the service has its answer and writes it as delivered.
  const now = await waitUntil('the delivery settled', async () => {
    const scraped = await scrape()
    return valueOf(scraped, 'wsgo_webhook_outbox_depth', { session: 'default' }) === 0 ? scraped : undefined
  })

  const delta = (name: string, labels: Record<string, string>) => valueOf(now, name, labels) - valueOf(before, name, labels)
  assert.equal(delta('wsgo_messages_total', { session: 'default', direction: 'in', type: 'text' }), 1)
  assert.equal(delta('wsgo_messages_total', { session: 'default', direction: 'out', type: 'text' }), 1)
  assert.equal(delta('wsgo_webhook_attempts_total', { session: 'default', outcome: 'delivered', status_class: '2xx' }), 1)
  assert.equal(countOf(now, 'wsgo_webhook_delivery_seconds') - countOf(before, 'wsgo_webhook_delivery_seconds'), 1)
  assert.equal(countOf(now, 'wsgo_webhook_attempt_seconds') - countOf(before, 'wsgo_webhook_attempt_seconds'), 1)
  assert.equal(valueOf(now, 'wsgo_send_queue_depth', { session: 'default' }), 0)
  assert.equal(valueOf(now, 'wsgo_webhook_outbox_depth', { session: 'default' }), 0)
  assert.equal(valueOf(now, 'wsgo_webhook_oldest_pending_age_seconds', { session: 'default' }), 0)
})

test('the route takes METRICS_KEY as a bearer token or X-API-Key, and nothing else', async () => {
  assert.equal((await fetch(`${h.url}/metrics`)).status, 401)
  const wrong = await fetch(`${h.url}/metrics`, { headers: { authorization: 'Bearer nope' } })
  assert.equal(wrong.status, 401)
  assert.equal(((await wrong.json()) as { code: string }).code, 'UNAUTHORIZED')
  await scrape(h.url, { 'x-api-key': METRICS_KEY })
  assert.equal((await fetch(`${h.url}/metrics`, { method: 'POST', headers: { authorization: `Bearer ${METRICS_KEY}` } })).status, 405)
  // The OpenAPI document lists it as text.
  const document = (await (await fetch(`${h.url}/openapi.json`)).json()) as { paths: Record<string, { get?: { responses: Record<string, { content?: Record<string, unknown> }> } }> }
  assert.ok(document.paths['/metrics']?.get?.responses['200']?.content?.['text/plain'])
})

test('without METRICS_KEY, the admin key (API_KEY) opens it', async () => {
  const service = await startTestService({ API_KEY: 'admin-key-for-metrics' })
  try {
    assert.equal((await fetch(`${service.url}/metrics`)).status, 401)
    assert.equal((await fetch(`${service.url}/metrics`, { headers: { authorization: 'Bearer scrape-key-for-tests' } })).status, 401)
    const families = await scrape(service.url, { 'x-api-key': 'admin-key-for-metrics' })
    assert.equal(families.get('wsgo_session_state')?.type, 'GAUGE')
  } finally {
    await service.close()
  }
})

// Last: it unlinks the device.
test('a dropped connection counts a reconnect; a send refused while logged out counts by its code', async () => {
  const before = await scrape()
  const reconnects = (families: Map<string, Family>) => valueOf(families, 'wsgo_reconnects_total', { session: 'default' })
  h.standin.drop()
  // The reconnect is quick: wait for it to be counted, then for the session to be back.
  await waitUntil('the reconnect counted', async () => (reconnects(await scrape()) > reconnects(before) ? true : undefined))
  await h.waitForStatus((status) => status.loggedIn)
  const back = await scrape()
  assert.equal(reconnects(back) - reconnects(before), 1)
  assert.equal(valueOf(back, 'wsgo_connects_total', { session: 'default' }) - valueOf(before, 'wsgo_connects_total', { session: 'default' }), 1)

  // Unlinked from the phone: the session shows a new QR, and a send is refused (503 NOT_CONNECTED).
  h.standin.unlink()
  await h.waitForStatus((status) => status.state === 'qr')
  const refused = await fetch(`${h.url}/api/send/text`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: ALICE.phone, message: 'not sent' }) })
  assert.equal(refused.status, 503)
  const now = await scrape()
  const refusals = (families: Map<string, Family>) => valueOf(families, 'wsgo_sends_refused_total', { session: 'default', code: 'NOT_CONNECTED' })
  assert.equal(refusals(now) - refusals(back), 1)
  assert.equal(valueOf(now, 'wsgo_session_state', { session: 'default', state: 'qr' }), 1)
  assert.equal(valueOf(now, 'wsgo_session_state', { session: 'default', state: 'open' }), 0)
})
