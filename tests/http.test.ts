// The HTTP surface every later feature stands on: health, errors, limits, auth, docs, OpenAPI.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { Validator } from '@seriousme/openapi-schema-validator'
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import { captureLog } from './support/log-capture.js'
import { startTestService, type TestService } from './support/service.js'

async function json(res: Response): Promise<unknown> {
  assert.match(res.headers.get('content-type') ?? '', /application\/json/)
  return res.json()
}

/** POSTs a body of `size` bytes with node:http (fetch gives up when the server answers early). */
function postLarge(url: string, size: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': size } }, (res) => {
      let body = ''
      res.on('data', (d) => (body += d))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    const padding = 'x'.repeat(size - 30)
    req.end(`{"url":null,"padding":"${padding}"}`.padEnd(size, ' '))
  })
}

describe('HTTP basics (no API key configured)', () => {
  let service: TestService
  before(async () => {
    service = await startTestService()
  })
  after(() => service.close())

  test('GET /health answers {"status":"ok"}', async () => {
    const res = await fetch(`${service.url}/health`)
    assert.equal(res.status, 200)
    assert.deepEqual(await json(res), { status: 'ok' })
  })

  test('unknown routes get a 404 JSON error', async () => {
    for (const [method, path] of [['GET', '/nope'], ['POST', '/api/does-not-exist'], ['DELETE', '/health']] as const) {
      const res = await fetch(`${service.url}${path}`, { method })
      assert.equal(res.status, 404, `${method} ${path}`)
      const body = (await json(res)) as { code: string; error: string }
      assert.equal(body.code, 'NOT_FOUND')
      assert.match(body.error, /No route/)
    }
  })

  test('broken JSON is a 400 that says so', async () => {
    const res = await fetch(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url": ' })
    assert.equal(res.status, 400)
    assert.deepEqual(await json(res), { error: 'The request body is not valid JSON', code: 'INVALID_JSON' })
  })

  test('invalid input is a 400 naming the field', async () => {
    const res = await fetch(`${service.url}/api/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ url: 'ftp://example.com/hook' }),
    })
    assert.equal(res.status, 400)
    const body = (await json(res)) as { error: string; code: string; issues: { path: string; message: string }[] }
    assert.equal(body.code, 'VALIDATION_ERROR')
    assert.equal(body.issues[0]?.path, 'url')
    assert.match(body.error, /url/)
  })

  test('query parameters are validated too', async () => {
    const res = await fetch(`${service.url}/api/events?limit=abc`)
    assert.equal(res.status, 400)
    const body = (await json(res)) as { issues: { path: string }[] }
    assert.equal(body.issues[0]?.path, 'limit')
  })

  test('a 16 MB file as base64 fits under the body limit; 100 MB gets 413', async () => {
    const fits = await postLarge(`${service.url}/api/webhook`, Math.ceil((16 * 1024 * 1024 * 4) / 3) + 1024)
    assert.equal(fits.status, 200, fits.body.slice(0, 200))
    const tooLarge = await postLarge(`${service.url}/api/webhook`, 100 * 1024 * 1024)
    assert.equal(tooLarge.status, 413)
    assert.equal((JSON.parse(tooLarge.body) as { code: string }).code, 'PAYLOAD_TOO_LARGE')
  })

  test('protected routes are open when no API key is configured', async () => {
    const res = await fetch(`${service.url}/api/webhook`)
    assert.equal(res.status, 200)
  })

  test('tRPC callers get the same code, sentence and issues', async () => {
    const client = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${service.url}/trpc` })] })
    assert.deepEqual(await client.health.check.query(), { status: 'ok' })
    await assert.rejects(
      client.webhook.set.mutate({ url: 'not a url' }),
      (error: unknown) => {
        assert.ok(error instanceof TRPCClientError)
        const data = error.data as { errorCode: string; issues: { path: string }[]; httpStatus: number }
        assert.equal(data.errorCode, 'VALIDATION_ERROR')
        assert.equal(data.httpStatus, 400)
        assert.equal(data.issues[0]?.path, 'url')
        assert.match(error.message, /^Invalid input: url/)
        return true
      },
    )
  })

  test('the OpenAPI document is valid OpenAPI 3', async () => {
    const res = await fetch(`${service.url}/openapi.json`)
    assert.equal(res.status, 200)
    const document = (await res.json()) as { openapi: string; paths: Record<string, unknown> }
    const validator = new Validator()
    const result = await validator.validate(document as Parameters<Validator["validate"]>[0])
    assert.equal(result.valid, true, JSON.stringify(result.errors, null, 2))
    assert.ok(document.paths['/health'])
    assert.ok(document.paths['/api/events'])
  })

  test('/docs is served entirely by the service (no CDN)', async () => {
    const res = await fetch(`${service.url}/docs/`)
    assert.equal(res.status, 200)
    const html = await res.text()
    assert.match(html, /swagger-ui/)
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!)
    assert.ok(refs.length >= 3, `expected scripts and styles, got ${refs.join(', ')}`)
    for (const ref of refs) {
      assert.doesNotMatch(ref, /^(https?:)?\/\//, `${ref} is not served by the service`)
      const asset = await fetch(new URL(ref, `${service.url}/docs/`))
      assert.equal(asset.status, 200, ref)
      await asset.arrayBuffer()
    }
    const init = await (await fetch(`${service.url}/docs/swagger-ui-init.js`)).text()
    assert.match(init, /"validatorUrl": null/)
  })
})

describe('API key', () => {
  let service: TestService
  const { lines, logger } = captureLog()
  const KEY = 'k3y-that-must-not-leak'
  before(async () => {
    service = await startTestService({ API_KEY: KEY }, { logger })
  })
  after(() => service.close())

  test('a protected route without a key is 401 JSON', async () => {
    const res = await fetch(`${service.url}/api/webhook`)
    assert.equal(res.status, 401)
    const body = (await json(res)) as { code: string; error: string }
    assert.equal(body.code, 'UNAUTHORIZED')
    assert.match(body.error, /X-API-Key/)
  })

  test('a wrong key is 401, in the header or the query', async () => {
    assert.equal((await fetch(`${service.url}/api/webhook`, { headers: { 'X-API-Key': 'wrong' } })).status, 401)
    assert.equal((await fetch(`${service.url}/api/webhook?api_key=wrong`)).status, 401)
    assert.equal((await fetch(`${service.url}/api/webhook?api_key=${KEY}x`)).status, 401)
  })

  test('the right key works in the header and in the query', async () => {
    assert.equal((await fetch(`${service.url}/api/webhook`, { headers: { 'X-API-Key': KEY } })).status, 200)
    assert.equal((await fetch(`${service.url}/api/events?api_key=${KEY}&limit=5`)).status, 200)
  })

  test('the key is checked before the input: a bad request without a key is 401, not 400', async () => {
    const res = await fetch(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"url":"ftp://x"}' })
    assert.equal(res.status, 401)
  })

  test('health, docs and the OpenAPI document stay public', async () => {
    assert.equal((await fetch(`${service.url}/health`)).status, 200)
    assert.equal((await fetch(`${service.url}/openapi.json`)).status, 200)
    assert.equal((await fetch(`${service.url}/docs/`)).status, 200)
  })

  test('tRPC needs the key too', async () => {
    const anonymous = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${service.url}/trpc` })] })
    await assert.rejects(anonymous.webhook.get.query(), (e: unknown) => e instanceof TRPCClientError && e.data?.httpStatus === 401)
    const keyed = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${service.url}/trpc`, headers: { 'X-API-Key': KEY } })] })
    assert.equal((await keyed.webhook.get.query()).url, null)
  })

  test('the key never reaches the logs', async () => {
    await fetch(`${service.url}/api/events?api_key=${KEY}`)
    await fetch(`${service.url}/api/events`, { headers: { 'X-API-Key': KEY } })
    const logged = lines.join('')
    assert.match(logged, /\/api\/events\?api_key=\[redacted\]/, 'requests are logged at debug level')
    assert.doesNotMatch(logged, new RegExp(KEY))
  })
})

describe('graceful shutdown', () => {
  test('stop lets an in-flight request finish and refuses new connections', async () => {
    const service = await startTestService()
    const body = JSON.stringify({ url: 'http://127.0.0.1:9/hook' })
    const inFlight = new Promise<number>((resolve, reject) => {
      const req = request(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        res.resume()
        res.on('end', () => resolve(res.statusCode ?? 0))
      })
      req.on('error', reject)
      // Half the body now, the rest after stop() has begun.
      req.write(body.slice(0, 10))
      setTimeout(() => req.end(body.slice(10)), 300)
    })
    await new Promise((r) => setTimeout(r, 100))
    const stopped = service.close()
    assert.equal(await inFlight, 200)
    await stopped
    await assert.rejects(fetch(`${service.url}/health`))
  })
})
