import { test } from 'node:test'
import assert from 'node:assert/strict'
import { nextStepAfterClose } from '../src/session/reconnect-policy.js'

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
