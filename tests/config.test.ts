import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../src/config.js'

test('defaults: port 8080 on all interfaces, SQLite in ./data, no API key', () => {
  const config = loadConfig({})
  assert.equal(config.PORT, 8080)
  assert.equal(config.HOST, '0.0.0.0')
  assert.equal(config.DATABASE_URL, 'file:./data/wsgo.db')
  assert.equal(config.API_KEY, undefined)
  assert.equal(config.EVENT_LOG_LIMIT, 500)
  assert.equal(config.WA_SYNC_FULL_HISTORY, false)
  assert.ok(config.BODY_LIMIT > (16 * 1024 * 1024 * 4) / 3, 'a 16 MB file as base64 fits')
})

test('values are parsed: numbers, sizes, booleans, an empty API key means none', () => {
  const config = loadConfig({ PORT: '9000', BODY_LIMIT: '1.5mb', WA_SYNC_FULL_HISTORY: 'true', API_KEY: '  ', DATABASE_URL: 'postgresql://u@h/db' })
  assert.equal(config.PORT, 9000)
  assert.equal(config.BODY_LIMIT, 1.5 * 1024 * 1024)
  assert.equal(config.WA_SYNC_FULL_HISTORY, true)
  assert.equal(config.API_KEY, undefined)
  assert.equal(config.DATABASE_URL, 'postgresql://u@h/db')
})

test('a bad value is a clear error naming every bad variable', () => {
  assert.throws(
    () => loadConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x', LOG_LEVEL: 'loud' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError)
      assert.match(error.message, /PORT="eighty"/)
      assert.match(error.message, /DATABASE_URL="mysql:\/\/x": expected file:/)
      assert.match(error.message, /LOG_LEVEL="loud"/)
      return true
    },
  )
})
