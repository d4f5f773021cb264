// The API key never reaches the log, however the caller spells the query parameter that carries it:
// the key check decodes the parameter's name and value (URLSearchParams), so the redaction must
// see them the same way (issue 18, item 4). The service logs every request at debug, expected 5xx
// (502-504: WhatsApp not connected, refusing, slow) at info and other 5xx at error, with the
// procedure's failure; all are captured here.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { createLogger, redactUrl } from '../src/logger.js'
import { captureLog } from './support/log-capture.js'
import { startTestService, type TestService } from './support/service.js'

const KEY = 'k3y-that-must-not-leak'
/** Every byte of the key percent-encoded. */
const ENCODED_KEY = [...Buffer.from(KEY)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('')

/** Query strings the service accepts as carrying the key (each is checked to be accepted below). */
const SPELLINGS = [
  `api_key=${KEY}`,
  `api%5Fkey=${KEY}`,
  `api%5fkey=${KEY}`,
  `%61%70%69%5F%6B%65%79=${KEY}`,
  `api_key=${ENCODED_KEY}`,
  `api%5Fkey=${ENCODED_KEY}`,
  `limit=5&api%5Fkey=${KEY}&type=message`,
  `api_key=${KEY.replaceAll('-', '%2D')}`,
]

describe('the API key in the query string never reaches the log', () => {
  let service: TestService
  const { lines, logger } = captureLog()
  before(async () => {
    service = await startTestService({ API_KEY: KEY }, { logger })
  })
  after(() => service.close())

  /** What was logged since `from`, with a check that the key appears in none of it, in any spelling. */
  function loggedSince(from: number): string {
    const logged = lines.slice(from).join('')
    for (const secret of [KEY, ENCODED_KEY, ENCODED_KEY.toLowerCase(), KEY.replaceAll('-', '%2D')]) {
      assert.ok(!logged.includes(secret), `the key (as ${secret}) was logged:\n${logged}`)
    }
    return logged
  }

  for (const query of SPELLINGS) {
    test(`?${query}: an ordinary request, a 5xx and a tRPC call are logged without it`, async () => {
      const from = lines.length
      const ordinary = await fetch(`${service.url}/api/events?${query}`)
      assert.equal(ordinary.status, 200, 'the service takes this spelling as the key')
      // No WhatsApp connection: a send is a 503, logged at error level with the procedure's failure.
      const failed = await fetch(`${service.url}/api/send/text?${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '15550002222', message: 'hi' }),
      })
      assert.equal(failed.status, 503)
      const trpc = await fetch(`${service.url}/trpc/messages.sendText?${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ phone: '15550002222', message: 'hi' }),
      })
      assert.equal(trpc.status, 503)
      const express = await fetch(`${service.url}/openapi.json?${query}`)
      assert.equal(express.status, 200)

      const logged = loggedSince(from)
      const entries = logged
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { msg: string; level: number; url?: string; status?: number })
      const requests = entries.filter((entry) => entry.msg === 'request')
      assert.equal(requests.length, 4, 'each request was logged (at debug, the 503s at info)')
      assert.ok(requests.every((entry) => entry.url?.includes('[redacted]')), JSON.stringify(requests))
      // A 503 for WhatsApp not being connected is a state the service reports, not a failure of it:
      // one info line (the request's), no error line and no stack.
      assert.deepEqual(requests.filter((entry) => entry.status === 503).map((entry) => entry.level), [30, 30])
      assert.ok(!entries.some((entry) => entry.level >= 50), `nothing at error level: ${logged}`)
    })
  }
})

test('redactUrl takes out every spelling of api_key and keeps the rest of the URL as sent', () => {
  assert.equal(redactUrl('/api/events?limit=5&api%5Fkey=secret&type=message'), '/api/events?limit=5&api%5Fkey=[redacted]&type=message')
  assert.equal(redactUrl('/api/events?API_KEY=secret'), '/api/events?API_KEY=[redacted]')
  assert.equal(redactUrl('/api/events?api+key=x&api_key'), '/api/events?api+key=x&api_key=[redacted]')
  assert.equal(redactUrl('/api/events?%ZZ=1&api%5Fkey=%ZZsecret'), '/api/events?%ZZ=1&api%5Fkey=[redacted]')
  assert.equal(redactUrl('/api/events'), '/api/events')
  assert.equal(redactUrl('/api/events?'), '/api/events?')
})

describe('pretty logs (LOG_FORMAT=pretty) are redacted the same way', () => {
  let service: TestService
  let output = ''
  const sink = new Writable({
    write(chunk, _encoding, done) {
      output += String(chunk)
      done()
    },
  })
  before(async () => {
    service = await startTestService({ API_KEY: KEY }, { logger: createLogger('debug', sink, 'pretty') })
  })
  after(() => service.close())

  test('requests with the key in the query or the header, a 503, and secrets passed to the logger', async () => {
    const from = output.length
    for (const query of SPELLINGS) assert.equal((await fetch(`${service.url}/api/events?${query}`)).status, 200)
    const failed = await fetch(`${service.url}/api/send/text`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': KEY },
      body: JSON.stringify({ phone: '15550002222', message: 'hi' }),
    })
    assert.equal(failed.status, 503)
    service.services.logger.info({ req: { headers: { 'x-api-key': KEY } }, secret: KEY, webhook: { secret: KEY }, creds: { noiseKey: KEY } }, 'secrets handed to the logger')
    const logged = output.slice(from)
    assert.match(logged, /^\[\d\d:\d\d:\d\d\.\d{3}\] DEBUG: request$/m, 'pretty, not JSON')
    assert.match(logged, /url: "\/api\/events\?api%5Fkey=\[redacted\]"/)
    assert.match(logged, /INFO: secrets handed to the logger/)
    for (const secret of [KEY, ENCODED_KEY, ENCODED_KEY.toLowerCase(), KEY.replaceAll('-', '%2D')]) {
      assert.ok(!logged.includes(secret), `the key (as ${secret}) was logged:\n${logged}`)
    }
  })
})
