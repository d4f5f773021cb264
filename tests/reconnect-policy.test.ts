import { test } from 'node:test'
import assert from 'node:assert/strict'
import { backoffDelay, nextStepAfterClose } from '../src/session/reconnect-policy.js'

test('every disconnect reason leads to the right next step', () => {
  const cases: Array<[number | undefined, boolean, string]> = [
    [515, true, 'reconnect-now'],
    [401, true, 'reset'],
    [403, true, 'reset'],
    [419, true, 'reset'],
    [440, true, 'stop'],
    [405, false, 'stop'],
    [411, true, 'stop'],
    [408, true, 'reconnect-later'],
    [408, false, 'reconnect-later'],
    [428, true, 'reconnect-later'],
    [500, true, 'reconnect-later'],
    [503, true, 'reconnect-later'],
    [undefined, true, 'reconnect-later'],
    [999, true, 'reconnect-later'],
  ]
  for (const [code, paired, action] of cases) {
    assert.equal(nextStepAfterClose(code, { paired, reachedWhatsApp: true }).action, action, `code ${code}`)
  }
  assert.match(nextStepAfterClose(405, { paired: false, reachedWhatsApp: false }).reason, /WA_VERSION/)
  assert.match(nextStepAfterClose(408, { paired: false, reachedWhatsApp: true }).reason, /QR/)
  assert.match(nextStepAfterClose(440, { paired: true, reachedWhatsApp: true }).reason, /reconnect/)
  // A connection that never reached WhatsApp is retried and said so, whatever code Baileys gave.
  for (const code of [408, 428, 500, undefined]) {
    assert.deepEqual(nextStepAfterClose(code, { paired: true, reachedWhatsApp: false }), { action: 'reconnect-later', reason: 'could not reach WhatsApp' })
  }
})

test('backoff grows exponentially, is capped, jitters, and never goes below its floor', () => {
  const bounds = { minMs: 1_000, maxMs: 60_000 }
  for (let attempt = 0; attempt < 40; attempt++) {
    for (const r of [0, 0.5, 0.999]) {
      const delay = backoffDelay(attempt, bounds, () => r)
      assert.ok(delay >= bounds.minMs, `attempt ${attempt}: ${delay} below the floor`)
      assert.ok(delay <= bounds.maxMs, `attempt ${attempt}: ${delay} above the cap`)
    }
  }
  assert.equal(backoffDelay(3, bounds, () => 0.999), 7_996)
  assert.equal(backoffDelay(3, bounds, () => 0), 4_000)
  assert.equal(backoffDelay(20, bounds, () => 0.999), 59_970)
  const spread = new Set(Array.from({ length: 50 }, () => backoffDelay(5, bounds)))
  assert.ok(spread.size > 10, 'jitter spreads the retries')
})
