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
    for (const [method, path] of [['GET', '/nope'], ['POST', '/api/does-not-exist'], ['DELETE', '/nope'], ['GET', '/api/sessions/default/nope']] as const) {
      const res = await fetch(`${service.url}${path}`, { method })
      assert.equal(res.status, 404, `${method} ${path}`)
      const body = (await json(res)) as { code: string; error: string }
      assert.equal(body.code, 'NOT_FOUND')
      assert.match(body.error, /No route/)
    }
  })

  test('a known path with another method is 405 with Allow and a JSON body; OPTIONS lists the methods', async () => {
    const cases: Array<[string, string, string]> = [
      ['GET', '/api/send/text', 'POST'],
      ['DELETE', '/health', 'GET'],
      ['PUT', '/api/webhook', 'GET, POST'],
      ['POST', '/api/sessions/default/status', 'GET'],
      ['POST', '/qr', 'GET'],
      ['DELETE', '/openapi.json', 'GET'],
    ]
    for (const [method, path, allowed] of cases) {
      const res = await fetch(`${service.url}${path}`, { method })
      assert.equal(res.status, 405, `${method} ${path}`)
      assert.equal(res.headers.get('allow'), `${allowed}, OPTIONS`)
      const body = (await json(res)) as { code: string; error: string }
      assert.equal(body.code, 'METHOD_NOT_ALLOWED')
      assert.equal(body.error, `${method} is not allowed on ${path}; it answers ${allowed}`)
    }
    const options = await fetch(`${service.url}/api/webhook`, { method: 'OPTIONS' })
    assert.equal(options.status, 204)
    assert.equal(options.headers.get('allow'), 'GET, POST, OPTIONS')
  })

  test('GET / leads to the pairing page, keeping the query', async () => {
    const res = await fetch(`${service.url}/?session=sales`, { redirect: 'manual' })
    assert.equal(res.status, 302)
    assert.equal(res.headers.get('location'), 'qr?session=sales')
    const followed = await fetch(`${service.url}/`)
    assert.equal(new URL(followed.url).pathname, '/qr')
    assert.match(await followed.text(), /<title>/)
  })

  test('every POST takes no body: no content type, an empty JSON body or an empty form are all "no input"', async () => {
    const document = (await (await fetch(`${service.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: { required?: string[] } }> } }>>
    }
    const posts = Object.entries(document.paths).filter(([path, item]) => item.post && !path.includes('{'))
    const NO_INPUT = ['/api/reconnect', '/api/logout', '/api/webhook/test']
    assert.ok(posts.length >= 10, `${posts.length} POST routes`)
    for (const [path, item] of posts) {
      const required = item.post!.requestBody?.content?.['application/json']?.schema?.required ?? []
      const variants: Record<string, string>[] = [{}, { 'content-type': 'application/json' }, { 'content-type': 'application/x-www-form-urlencoded' }, { 'content-type': 'text/plain' }]
      for (const headers of variants) {
        const res = await fetch(`${service.url}${path}`, { method: 'POST', headers, body: Object.keys(headers).length ? '' : undefined })
        const body = (await json(res)) as { code?: string; error?: string; issues?: { path: string; message: string }[] }
        const what = `POST ${path} ${JSON.stringify(headers)}: ${res.status} ${JSON.stringify(body)}`
        assert.notEqual(res.status, 415, what)
        assert.notEqual(body.code, 'INVALID_JSON', what)
        if (NO_INPUT.includes(path)) assert.notEqual(res.status, 400, what)
        if (required.length > 0) assert.equal(res.status, 400, what)
        if (res.status === 400) {
          // The input is `{}`: what is missing is named, in words.
          assert.equal(body.code, 'VALIDATION_ERROR', what)
          assert.notEqual(body.issues?.[0]?.path ?? '(body)', '(body)', what)
          assert.doesNotMatch(JSON.stringify(body), /received undefined/, what)
        }
      }
    }
  })

  test('tRPC mutations without input need no body and no content type', async () => {
    const res = await fetch(`${service.url}/trpc/session.reconnect`, { method: 'POST' })
    assert.equal(res.status, 200, await res.clone().text())
    const batch = await fetch(`${service.url}/trpc/session.reconnect,webhook.deliveries?batch=1`, { method: 'POST' })
    assert.equal(batch.status, 207, 'a mutation and a query in one POST batch: the query is refused, the mutation is not')
  })

  test('a body that is not JSON is a 415 that says what to send', async () => {
    const res = await fetch(`${service.url}/api/send/text`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' })
    assert.equal(res.status, 415)
    assert.deepEqual(await json(res), {
      error: 'Unsupported content type "text/plain": send JSON, with Content-Type: application/json',
      code: 'UNSUPPORTED_MEDIA_TYPE',
    })
  })

  test('missing and mistyped fields read as "group_jid is required" and "expected a string"', async () => {
    const res = await fetch(`${service.url}/api/send/group`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ message: 7 }) })
    assert.equal(res.status, 400)
    const body = (await json(res)) as { error: string; issues: { path: string; message: string }[] }
    assert.equal(body.error, 'Invalid input: group_jid is required (and 1 more)')
    assert.deepEqual(body.issues, [
      { path: 'group_jid', message: 'group_jid is required' },
      { path: 'message', message: 'expected a string, not a number' },
    ])
    const list = await fetch(`${service.url}/api/check-phone`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phones: 'x' }) })
    assert.equal(((await json(list)) as { error: string }).error, 'Invalid input: phones: expected an array, not a string')
    const trpc = await fetch(`${service.url}/trpc/session.pairCode`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    const error = ((await trpc.json()) as { error: { message: string } }).error
    assert.equal(error.message, 'Invalid input: phone is required')
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
    const body = (await json(res)) as { issues: { path: string; message: string }[] }
    assert.equal(body.issues[0]?.path, 'limit')
    assert.equal(body.issues[0]?.message, 'expected a number')
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
