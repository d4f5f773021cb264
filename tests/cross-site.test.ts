// Other sites' pages and the service's own webhooks cannot drive the API (issue 18, item 7). A
// browser lets any page send a "simple" request elsewhere (a POST with no body, or text/plain)
// without asking first; it says where from in `Origin` and `Sec-Fetch-Site`. Such a request is
// refused unless CORS_ORIGINS allows its origin, and an allowed origin gets proper CORS answers.
// A webhook pointed at the service itself is refused too, instead of looping.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { captureLog } from './support/log-capture.js'
import { startTestService, type TestService } from './support/service.js'
import { waitUntil } from './support/whatsapp.js'

const EVIL = 'https://evil.example'
const APP = 'https://app.example.com'

interface ErrorBody {
  error: string
  code: string
}

/** What a browser sends for a page of `origin` POSTing to `url` with no preflight (a "simple" request). */
function simplePost(url: string, origin: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { origin, 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', ...headers } })
}

async function loggedOut(service: TestService): Promise<boolean> {
  const events = (await (await fetch(`${service.url}/api/events?type=logged_out`)).json()) as unknown[]
  return events.length > 0
}

describe('cross-site requests, no API key and no CORS_ORIGINS', () => {
  let service: TestService
  before(async () => {
    service = await startTestService()
  })
  after(() => service.close())

  test('a bodyless cross-origin POST /api/logout is refused with 403, and nothing is logged out', async () => {
    const res = await simplePost(`${service.url}/api/logout`, EVIL)
    assert.equal(res.status, 403)
    const body = (await res.json()) as ErrorBody
    assert.equal(body.code, 'CROSS_SITE_REQUEST')
    assert.match(body.error, /https:\/\/evil\.example/)
    assert.match(body.error, /CORS_ORIGINS/)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
    assert.equal(await loggedOut(service), false)
  })

  test('text/plain, form and JSON bodies, REST and tRPC, with only Origin or only Sec-Fetch-Site: all refused', async () => {
    const cases: Array<[string, Record<string, string>, string?]> = [
      ['/api/logout', { 'content-type': 'text/plain' }, '{}'],
      ['/api/reconnect', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=b'],
      ['/api/webhook', { 'content-type': 'application/json' }, JSON.stringify({ url: 'https://evil.example/hook' })],
      ['/trpc/session.logout', { 'content-type': 'application/json' }, '{}'],
      ['/trpc/session.logout', { 'content-type': 'text/plain' }],
    ]
    for (const [path, headers, body] of cases) {
      for (const signals of [{ origin: EVIL }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }] as Record<string, string>[]) {
        const res = await fetch(`${service.url}${path}`, { method: 'POST', headers: { ...headers, ...signals }, body })
        assert.equal(res.status, 403, `${path} ${JSON.stringify(signals)}`)
        assert.equal(((await res.json()) as ErrorBody).code, 'CROSS_SITE_REQUEST')
      }
    }
    const webhook = (await (await fetch(`${service.url}/api/webhook`)).json()) as { url: string | null }
    assert.equal(webhook.url, null)
    assert.equal(await loggedOut(service), false)
  })

  test('DELETE from another site is refused too', async () => {
    const res = await fetch(`${service.url}/api/sessions/default`, { method: 'DELETE', headers: { origin: EVIL } })
    assert.equal(res.status, 403)
  })

  test('the same origin (the /qr page), and programs that send no Origin, are served', async () => {
    const same = await fetch(`${service.url}/api/reconnect`, { method: 'POST', headers: { origin: service.url, 'sec-fetch-site': 'same-origin' } })
    assert.equal(same.status, 200)
    const program = await fetch(`${service.url}/api/reconnect`, { method: 'POST' })
    assert.equal(program.status, 200)
    // A person typing the URL, a bookmark: Sec-Fetch-Site is `none`.
    const typed = await fetch(`${service.url}/api/status`, { headers: { 'sec-fetch-site': 'none' } })
    assert.equal(typed.status, 200)
  })

  test('a cross-site GET is answered, but without CORS headers the page cannot read it', async () => {
    const res = await fetch(`${service.url}/api/status`, { headers: { origin: EVIL, 'sec-fetch-site': 'cross-site' } })
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
  })

  test('a preflight from an origin not allowed is refused and carries no CORS headers', async () => {
    const res = await fetch(`${service.url}/api/send/text`, {
      method: 'OPTIONS',
      headers: { origin: EVIL, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    })
    assert.equal(res.status, 403)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
    assert.equal(((await res.json()) as ErrorBody).code, 'CROSS_SITE_REQUEST')
  })
})

describe('CORS_ORIGINS allows the pages of named origins', () => {
  let service: TestService
  const KEY = 'cross-site-key'
  before(async () => {
    service = await startTestService({ API_KEY: KEY, CORS_ORIGINS: `${APP}, http://localhost:3000` })
  })
  after(() => service.close())

  test('a preflight from an allowed origin gets the methods and headers it asked for', async () => {
    const res = await fetch(`${service.url}/api/send/text`, {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-api-key' },
    })
    assert.equal(res.status, 204)
    assert.equal(res.headers.get('access-control-allow-origin'), APP)
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/)
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /x-api-key/i)
    assert.match(res.headers.get('access-control-allow-headers') ?? '', /content-type/i)
    assert.match(res.headers.get('vary') ?? '', /origin/i)
    assert.ok(Number(res.headers.get('access-control-max-age')) > 0)
  })

  test('its requests are served with Access-Control-Allow-Origin; the key is still required', async () => {
    const unauthorized = await fetch(`${service.url}/api/reconnect`, { method: 'POST', headers: { origin: APP, 'sec-fetch-site': 'cross-site' } })
    assert.equal(unauthorized.status, 401)
    assert.equal(unauthorized.headers.get('access-control-allow-origin'), APP)
    const ok = await fetch(`${service.url}/api/reconnect`, { method: 'POST', headers: { origin: 'http://localhost:3000', 'sec-fetch-site': 'same-site', 'x-api-key': KEY } })
    assert.equal(ok.status, 200)
    assert.equal(ok.headers.get('access-control-allow-origin'), 'http://localhost:3000')
    assert.match(ok.headers.get('vary') ?? '', /origin/i)
    const trpc = await fetch(`${service.url}/trpc/session.status?api_key=${KEY}`, { headers: { origin: APP } })
    assert.equal(trpc.status, 200)
    assert.equal(trpc.headers.get('access-control-allow-origin'), APP)
  })

  test('other origins are still refused', async () => {
    const res = await simplePost(`${service.url}/api/reconnect?api_key=${KEY}`, 'http://localhost:3001')
    assert.equal(res.status, 403)
    assert.equal(res.headers.get('access-control-allow-origin'), null)
  })
})

describe("the service's own webhook deliveries are not API calls", () => {
  let service: TestService
  const { lines, logger } = captureLog('debug')
  before(async () => {
    service = await startTestService({ WEBHOOK_RETRY_MIN_MS: '50' }, { logger })
  })
  after(() => service.close())

  test('a webhook pointed at POST /api/logout is refused once (410), which turns it off: no loop', async () => {
    const set = await fetch(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${service.url}/api/logout` }) })
    assert.equal(set.status, 200)
    assert.equal((await fetch(`${service.url}/api/webhook/test`, { method: 'POST' })).status, 200)
    const webhook = await waitUntil(
      'the webhook to be turned off',
      async () => {
        const body = (await (await fetch(`${service.url}/api/webhook`)).json()) as { url: string | null }
        return body.url === null ? body : undefined
      },
      5_000,
    )
    assert.equal(webhook.url, null)
    // Long enough for a loop to show (77 calls in 2.4 s were seen).
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const calls = lines.filter((line) => line.includes('"url":"/api/logout"'))
    assert.equal(calls.length, 1, `POST /api/logout was called ${calls.length} times`)
    assert.match(calls[0]!, /"status":410/)
    assert.equal(await loggedOut(service), false)
    const deliveries = (await (await fetch(`${service.url}/api/webhook/deliveries`)).json()) as { deliveries?: Array<{ lastError: string | null }> } | Array<{ lastError: string | null }>
    const list = Array.isArray(deliveries) ? deliveries : (deliveries.deliveries ?? [])
    assert.ok(
      list.some((delivery) => /webhook delivery/i.test(JSON.stringify(delivery))),
      `the delivery's error says why: ${JSON.stringify(deliveries)}`,
    )
  })

  test('any request carrying the delivery headers is refused with a JSON error saying why', async () => {
    for (const path of ['/api/reconnect', '/trpc/session.reconnect', '/api/send/text']) {
      const res = await fetch(`${service.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-wsgo-event': 'message', 'x-wsgo-delivery': 'd-1', 'user-agent': 'wsgo-ts/1.0.0' },
        body: JSON.stringify({ event: 'message', data: {} }),
      })
      assert.equal(res.status, 410, path)
      const body = (await res.json()) as ErrorBody
      assert.equal(body.code, 'WEBHOOK_LOOP')
      assert.match(body.error, /webhook/i)
    }
  })
})

/** GET `path` with the Host header a browser would send for a page of `host` (node:http, which lets Host be set). */
function getAs(url: string, path: string, host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { headers: { host } }, (res) => {
      let body = ''
      res.on('data', (chunk) => (body += chunk))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject)
    req.end()
  })
}

describe('DNS rebinding: an open service on loopback answers only for this machine', () => {
  test('no key: a request for another host name is refused (its page could read the QR); loopback names and PUBLIC_URL are served', async () => {
    const service = await startTestService({ PUBLIC_URL: 'https://wa.example.com' })
    try {
      const port = new URL(service.url).port
      const refused = await getAs(service.url, '/api/qr', `rebind.attacker.example:${port}`)
      assert.equal(refused.status, 403)
      const body = JSON.parse(refused.body) as ErrorBody
      assert.equal(body.code, 'HOST_NOT_ALLOWED')
      assert.match(body.error, /rebind\.attacker\.example/)
      assert.equal((await getAs(service.url, '/qr', `rebind.attacker.example:${port}`)).status, 403, 'the page too')
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `LOCALHOST:${port}`, `app.localhost:${port}`, 'wa.example.com']) {
        assert.equal((await getAs(service.url, '/api/status', host)).status, 200, host)
      }
    } finally {
      await service.close()
    }
  })

  test('with a key, any host name is served (the key protects it)', async () => {
    const service = await startTestService({ API_KEY: 'rebinding-key' })
    try {
      const port = new URL(service.url).port
      assert.equal((await getAs(service.url, '/api/status', `rebind.attacker.example:${port}`)).status, 401)
      assert.equal((await getAs(service.url, '/api/status?api_key=rebinding-key', `rebind.attacker.example:${port}`)).status, 200)
    } finally {
      await service.close()
    }
  })
})
