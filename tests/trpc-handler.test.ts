// The /trpc endpoint answers plain calls itself (src/http/trpc-handler.ts) and hands the rest to
// tRPC's own handler. Proved here by sending the same requests to tRPC's own handler (the reference)
// and to ours, over real loopback servers on one service, and comparing status, headers and body;
// and by counting which requests were handed over.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, request, type IncomingMessage, type RequestListener, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import { createTRPCClient, httpBatchLink, httpBatchStreamLink, httpLink } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import { appRouter } from '../src/routers/index.js'
import { createTrpcHandler } from '../src/http/trpc-handler.js'
import type { Context } from '../src/trpc.js'
import { startTestService, type TestService } from './support/service.js'

const KEY = 'trpc-handler-test-key'
const LIMIT = 64 * 1024

interface Answer {
  status: number
  headers: Record<string, string | undefined>
  body: string
}

/** One raw HTTP exchange (node:http, so that any method, header and body can be sent as is). */
function exchange(base: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, { method: init.method ?? 'GET', headers: { 'x-api-key': KEY, ...init.headers } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => {
        const pick = (name: string) => res.headers[name] as string | undefined
        resolve({ status: res.statusCode ?? 0, headers: { 'content-type': pick('content-type'), vary: pick('vary'), allow: pick('allow') }, body })
      })
    })
    req.on('error', reject)
    req.end(init.body)
  })
}

async function listen(listener: RequestListener): Promise<{ server: Server; url: string }> {
  const server = createServer(listener)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }
}

const json = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
const q = (input: unknown) => encodeURIComponent(JSON.stringify(input))

/**
 * Each case: what it is, the request, whether tRPC's own handler should answer it, and where the
 * answer deliberately differs from tRPC's (`differs`: the headers that do).
 */
const cases: Array<{ what: string; path: string; init?: Parameters<typeof exchange>[2]; handedOver: boolean; differs?: Answer['headers'] }> = [
  { what: 'batched query', path: `/trpc/session.status?batch=1&input=${q({})}`, handedOver: false },
  { what: 'unbatched query, no input', path: '/trpc/webhook.get', handedOver: false },
  { what: 'unbatched query with input', path: `/trpc/events.list?input=${q({ limit: 5 })}`, handedOver: false },
  { what: 'query input failing validation', path: `/trpc/events.list?input=${q({ limit: 'abc' })}`, handedOver: false },
  { what: 'batch of two queries', path: `/trpc/session.status,health.check?batch=1&input=${q({})}`, handedOver: false },
  { what: 'mutation', path: '/trpc/webhook.set?batch=1', init: json({ 0: { url: null } }), handedOver: false },
  { what: 'unbatched mutation', path: '/trpc/webhook.set', init: json({ url: null }), handedOver: false },
  { what: 'mutation with a charset in its content type', path: '/trpc/webhook.set', init: { ...json({ url: null }), headers: { 'content-type': 'Application/JSON; charset=utf-8' } }, handedOver: false },
  { what: 'mutation failing validation (400 naming the field)', path: '/trpc/webhook.set?batch=1', init: json({ 0: { url: 'ftp://x' } }), handedOver: false },
  { what: 'mutation the unpaired session refuses', path: '/trpc/messages.sendText?batch=1', init: json({ 0: { phone: '15550002222', message: 'x' } }), handedOver: false },
  { what: 'mixed batch: one ok, one invalid (207)', path: '/trpc/webhook.set,webhook.set?batch=1', init: json({ 0: { url: null }, 1: { url: 'nope' } }), handedOver: false },
  { what: 'unknown procedure', path: `/trpc/nope.nothing?batch=1&input=${q({})}`, handedOver: false },
  { what: 'unknown and known in one batch', path: `/trpc/nope.nothing,health.check?batch=1&input=${q({})}`, handedOver: false },
  { what: 'query called with POST (405 with allow)', path: '/trpc/session.status?batch=1', init: json({}), handedOver: false },
  { what: 'mutation called with GET (405 with allow)', path: `/trpc/webhook.set?batch=1&input=${q({})}`, handedOver: false },
  { what: 'malformed JSON body', path: '/trpc/webhook.set?batch=1', init: { ...json(0), body: '{"0":' }, handedOver: false },
  { what: 'malformed JSON input', path: '/trpc/session.status?batch=1&input=%7B', handedOver: false },
  { what: 'batch input that is not an object', path: '/trpc/webhook.set?batch=1', init: json([{ url: null }]), handedOver: false },
  { what: 'empty body to a mutation', path: '/trpc/webhook.test?batch=1', init: { method: 'POST', headers: { 'content-type': 'application/json' } }, handedOver: false },
  { what: 'body over the limit (413)', path: '/trpc/webhook.set?batch=1', init: json({ 0: { url: null, padding: 'x'.repeat(LIMIT) } }), handedOver: false },
  { what: 'no API key (401)', path: `/trpc/session.status?batch=1&input=${q({})}`, init: { headers: { 'x-api-key': 'wrong' } }, handedOver: false },
  { what: 'percent-encoded path', path: `/trpc/health%2Echeck?batch=1&input=${q({})}`, handedOver: false },
  { what: 'POST without a content type (415)', path: '/trpc/webhook.set', init: { method: 'POST', body: '{}' }, handedOver: true },
  { what: 'POST as text/plain (415)', path: '/trpc/webhook.set', init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }, handedOver: true },
  { what: 'HEAD (204)', path: '/trpc/health.check', init: { method: 'HEAD' }, handedOver: true },
  { what: 'PUT', path: '/trpc/webhook.set', init: { ...json({ url: null }), method: 'PUT' }, handedOver: true },
  { what: 'streaming call (trpc-accept: application/jsonl)', path: `/trpc/health.check?batch=1&input=${q({})}`, init: { headers: { 'trpc-accept': 'application/jsonl' } }, handedOver: true },
  // tRPC sends the same 400 body as text/plain.
  { what: 'malformed escape in the path', path: '/trpc/health%E0%A4%A.check', handedOver: false, differs: { 'content-type': 'application/json' } },
]

describe('tRPC endpoint: the direct path answers as tRPC itself does', () => {
  let service: TestService
  let reference: { server: Server; url: string }
  let candidate: { server: Server; url: string }
  let handedOver: string[] = []
  const errors: string[] = []

  before(async () => {
    service = await startTestService({ API_KEY: KEY, BODY_LIMIT: String(LIMIT) })
    const createContext = (req: IncomingMessage): Context => ({
      services: service.services,
      presentedKey: req.headers['x-api-key'] as string | undefined,
      // As the service's own context for /trpc/*: no session in the path, not forwarded.
      pathSession: undefined,
      forwarded: false,
    })
    reference = await listen(createHTTPHandler({ router: appRouter, basePath: '/trpc/', createContext: ({ req }) => createContext(req), maxBodySize: LIMIT }))
    const fallback = createHTTPHandler({ router: appRouter, basePath: '/trpc/', createContext: ({ req }) => createContext(req), maxBodySize: LIMIT })
    candidate = await listen(
      createTrpcHandler({
        router: appRouter,
        basePath: '/trpc/',
        createContext,
        maxBodySize: LIMIT,
        onError: (error) => errors.push(error.code),
        fallback: (req, res) => {
          handedOver.push(req.url ?? '')
          fallback(req, res)
        },
      }),
    )
  })
  after(async () => {
    for (const { server } of [reference, candidate]) {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    }
    await service.close()
  })

  for (const c of cases) {
    test(`${c.what}: same answer${c.handedOver ? ', from tRPC’s own handler' : ', answered directly'}`, async () => {
      handedOver = []
      const theirs = await exchange(reference.url, c.path, c.init)
      const expected = { ...theirs, headers: { ...theirs.headers, ...c.differs } }
      const actual = await exchange(candidate.url, c.path, c.init)
      const viaService = await exchange(service.url, c.path, c.init)
      assert.deepEqual(actual, expected)
      assert.deepEqual(viaService, expected, 'the service mounts the same handler')
      assert.deepEqual(handedOver, c.handedOver ? [c.path] : [])
    })
  }

  test('the cases above cover success, every error status and the hand-over', async () => {
    const statuses = new Set<number>()
    for (const c of cases) statuses.add((await exchange(candidate.url, c.path, c.init)).status)
    for (const status of [200, 204, 207, 400, 401, 404, 405, 409, 413, 415]) assert.ok(statuses.has(status), `no case answered ${status}`)
  })

  test('onError hears of each failed call once, with its code', async () => {
    errors.length = 0
    await exchange(candidate.url, '/trpc/nope.nothing,health.check,webhook.get?batch=1&input=%7B%7D')
    assert.deepEqual(errors, ['NOT_FOUND'])
    errors.length = 0
    await exchange(candidate.url, '/trpc/webhook.set,webhook.set?batch=1', json({ 0: { url: 'nope' }, 1: { url: 'nope' } }))
    assert.deepEqual(errors, ['BAD_REQUEST', 'BAD_REQUEST'])
  })

  test('a POST with no body and no content type is a call with no input, as with an empty JSON body (tRPC itself answers 415)', async () => {
    for (const path of ['/trpc/webhook.test', '/trpc/webhook.test?batch=1', '/trpc/session.reconnect']) {
      const bare = { method: 'POST' }
      assert.equal((await exchange(reference.url, path, bare)).status, 415, 'tRPC asks for a content type')
      const asJson = await exchange(reference.url, path, { method: 'POST', headers: { 'content-type': 'application/json' } })
      handedOver = []
      assert.deepEqual(await exchange(candidate.url, path, bare), asJson, path)
      assert.deepEqual(await exchange(service.url, path, bare), asJson, path)
      assert.deepEqual(handedOver, [])
    }
  })

  test('the connection stays usable after a body over the limit', async () => {
    const big = json({ 0: { url: null, padding: 'x'.repeat(4 * LIMIT) } })
    assert.equal((await exchange(candidate.url, '/trpc/webhook.set?batch=1', big)).status, 413)
    assert.equal((await exchange(candidate.url, `/trpc/health.check?batch=1&input=${q({})}`)).status, 200)
  })

  test('the typed client works over each of its links', async () => {
    const headers = { 'x-api-key': KEY }
    for (const link of [httpBatchLink({ url: `${service.url}/trpc`, headers }), httpLink({ url: `${service.url}/trpc`, headers }), httpBatchStreamLink({ url: `${service.url}/trpc`, headers })]) {
      const client = createTRPCClient<AppRouter>({ links: [link] })
      const [health, webhook] = await Promise.all([client.health.check.query(), client.webhook.set.mutate({ url: null })])
      assert.deepEqual(health, { status: 'ok' })
      assert.equal(webhook.url, null)
    }
  })
})
