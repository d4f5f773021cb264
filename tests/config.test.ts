import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ConfigError, loadConfig } from '../src/config.js'

test('defaults: port 8080 on this machine only (no API key), SQLite in ./data', () => {
  const config = loadConfig({})
  assert.equal(config.PORT, 8080)
  assert.equal(config.HOST, '127.0.0.1')
  assert.equal(config.DATABASE_URL, 'file:./data/wsgo.db')
  assert.equal(config.API_KEY, undefined)
  assert.equal(config.EVENT_LOG_LIMIT, 500)
  assert.equal(config.WA_SYNC_FULL_HISTORY, false)
  assert.ok(config.BODY_LIMIT > (16 * 1024 * 1024 * 4) / 3, 'a 16 MB file as base64 fits')
})

test('values are parsed: numbers, sizes, booleans', () => {
  const config = loadConfig({ PORT: '9000', BODY_LIMIT: '1.5mb', WA_SYNC_FULL_HISTORY: 'true', DATABASE_URL: 'postgresql://u@h/db' })
  assert.equal(config.PORT, 9000)
  assert.equal(config.BODY_LIMIT, 1.5 * 1024 * 1024)
  assert.equal(config.WA_SYNC_FULL_HISTORY, true)
  assert.equal(config.DATABASE_URL, 'postgresql://u@h/db')
})

test('HOST: 127.0.0.1 without a key, all interfaces with one, and what is set explicitly either way', () => {
  assert.equal(loadConfig({}).HOST, '127.0.0.1')
  assert.equal(loadConfig({ API_KEY: 'k' }).HOST, '0.0.0.0')
  assert.equal(loadConfig({ HOST: '0.0.0.0' }).HOST, '0.0.0.0')
  assert.equal(loadConfig({ HOST: '::1', API_KEY: 'k' }).HOST, '::1')
})

test('an empty API_KEY (or HOST) is an error that says what to do, not an open API', () => {
  for (const value of ['', '  ']) {
    assert.throws(
      () => loadConfig({ API_KEY: value }),
      (error: unknown) => error instanceof ConfigError && /API_KEY=".*": is empty: set a key, or remove the variable/.test(error.message),
    )
  }
  assert.throws(() => loadConfig({ HOST: '' }), /HOST="": is empty/)
})

test('CORS_ORIGINS: a list of origins (as browsers write them) or *; anything else is named', () => {
  assert.deepEqual(loadConfig({}).CORS_ORIGINS, [])
  assert.deepEqual(loadConfig({ CORS_ORIGINS: 'https://App.Example.com/, http://localhost:3000 ,https://x.example:443' }).CORS_ORIGINS, [
    'https://app.example.com',
    'http://localhost:3000',
    'https://x.example',
  ])
  assert.deepEqual(loadConfig({ CORS_ORIGINS: '*' }).CORS_ORIGINS, ['*'])
  assert.throws(() => loadConfig({ CORS_ORIGINS: 'https://ok.example,https://app.example/path,example.com' }), (error: unknown) => {
    assert.ok(error instanceof ConfigError)
    assert.match(error.message, /"https:\/\/app\.example\/path" is not an origin/)
    assert.match(error.message, /"example\.com" is not an origin/)
    return true
  })
})

test('MAX_CONNECTIONS and LOG_FORMAT have defaults and are checked', () => {
  const config = loadConfig({})
  assert.equal(config.MAX_CONNECTIONS, 1024)
  assert.equal(config.LOG_FORMAT, 'auto')
  assert.equal(loadConfig({ LOG_FORMAT: 'pretty', MAX_CONNECTIONS: '10' }).MAX_CONNECTIONS, 10)
  assert.throws(() => loadConfig({ MAX_CONNECTIONS: '0' }), /MAX_CONNECTIONS/)
  assert.throws(() => loadConfig({ LOG_FORMAT: 'xml' }), /LOG_FORMAT/)
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
