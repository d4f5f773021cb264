// Calls to WhatsApp made outside the send queue (number checks, group lists, profile reads...) when
// the socket they went out on is closed by the service itself: a logout, a reconnect, the session
// moving to another process. Baileys' own end() drops the listeners that would fail their pending
// queries, so without the service's help each would wait for Baileys' 60 s query timeout, holding
// its HTTP request (and, in a cluster, the hop from the process that forwarded it). And the close
// itself, over a connection the network black-holed: it must not wait for ws's 30 s close timeout.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { ALICE, startWithStandIn, type WhatsAppHarness } from './support/whatsapp.js'

let harness: WhatsAppHarness | undefined
afterEach(async () => {
  await harness?.close()
  harness = undefined
})

const request = (url: string, method: 'GET' | 'POST', body?: unknown) =>
  fetch(url, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) }).then(async (res) => ({
    status: res.status,
    body: (await res.json()) as { code?: string; error?: string },
    at: Date.now(),
  }))

for (const how of ['logout', 'reconnect'] as const) test(`a ${how} fails the calls waiting for WhatsApp's answer at once, with a 503`, async () => {
  const h = (harness = await startWithStandIn())
  await h.pair()
  // The server stalls: number checks (usync) and group queries (w:g2) are never answered.
  h.standin.ignoreQueries('usync', 'w:g2')
  const calls = [
    request(`${h.url}/api/check-phone`, 'POST', { phones: [ALICE.phone] }),
    request(`${h.url}/api/groups`, 'GET'),
  ]
  // Both are waiting for WhatsApp before the socket goes.
  const early = await Promise.race([Promise.all(calls), new Promise<'waiting'>((resolve) => setTimeout(() => resolve('waiting'), 500))])
  assert.equal(early, 'waiting', `answered before the ${how}: ${JSON.stringify(early)}`)

  const closedAt = Date.now()
  const closing = await request(`${h.url}/api/${how}`, 'POST')
  assert.equal(closing.status, 200, JSON.stringify(closing.body))
  const answers = await Promise.all(calls)
  const slowest = Math.max(...answers.map((answer) => answer.at - closedAt))
  assert.ok(slowest < 3_000, `the calls answered ${slowest} ms after the ${how} (Baileys' query timeout is 60 s)`)
  for (const answer of answers) {
    assert.equal(answer.status, 503, JSON.stringify(answer.body))
    assert.equal(answer.body.code, 'NOT_CONNECTED')
    assert.match(answer.body.error ?? '', /connection closed/i)
  }

  // The next socket answers as before.
  h.standin.ignoreQueries()
  if (how === 'logout') await h.pair()
  else await h.waitForStatus((s) => s.loggedIn)
  const again = await request(`${h.url}/api/check-phone`, 'POST', { phones: [ALICE.phone] })
  assert.equal(again.status, 200, JSON.stringify(again.body))
})

test('WhatsApp never answering a number check is a 504, not "not on WhatsApp"', async () => {
  // Baileys turns its query timeout into an empty answer; a short one keeps the test short.
  const h = (harness = await startWithStandIn({}, { service: { socketOptions: { defaultQueryTimeoutMs: 1_000 } } }))
  await h.pair()
  const answered = await request(`${h.url}/api/check-phone`, 'POST', { phones: [ALICE.phone] })
  assert.equal(answered.status, 200, JSON.stringify(answered.body))
  h.standin.ignoreQueries('usync')
  const check = await request(`${h.url}/api/check-phone`, 'POST', { phones: [ALICE.phone] })
  assert.equal(check.status, 504, JSON.stringify(check.body))
  assert.equal(check.body.code, 'WHATSAPP_TIMEOUT')
  h.standin.ignoreQueries()
  const again = await request(`${h.url}/api/check-phone`, 'POST', { phones: [ALICE.phone] })
  assert.deepEqual(again.body, answered.body)
})

test('a connection the network black-holed is given up within a moment: a reconnect does not wait out the closing handshake', async () => {
  const h = (harness = await startWithStandIn())
  await h.pair()
  h.standin.blackHole()
  const began = Date.now()
  const reconnect = await request(`${h.url}/api/reconnect`, 'POST')
  assert.equal(reconnect.status, 200, JSON.stringify(reconnect.body))
  // ws waits 30 s for the peer's closing frame before it gives the connection up.
  assert.ok(reconnect.at - began < 5_000, `the reconnect answered after ${reconnect.at - began} ms`)
  await h.waitForStatus((s) => s.loggedIn)
})

test('a call WhatsApp does not answer in SEND_TIMEOUT_MS is a 504, before Baileys\' own query timeout turns it into an empty answer ("no groups")', async () => {
  const h = (harness = await startWithStandIn({ SEND_TIMEOUT_MS: '1000' }, { service: { socketOptions: { defaultQueryTimeoutMs: 3_000 } } }))
  await h.pair()
  h.standin.ignoreQueries('w:g2')
  const began = Date.now()
  const groups = await request(`${h.url}/api/groups`, 'GET')
  assert.equal(groups.status, 504, JSON.stringify(groups.body))
  assert.equal(groups.body.code, 'WHATSAPP_TIMEOUT')
  assert.match(groups.body.error ?? '', /fetch the groups/)
  assert.ok(groups.at - began < 2_500, `answered after ${groups.at - began} ms`)
  h.standin.ignoreQueries()
  assert.equal((await request(`${h.url}/api/groups`, 'GET')).status, 200, 'not remembered: the next call asks again')
})
