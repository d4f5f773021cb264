// Many sessions in one service, through real Baileys and the stand-in fleet (one stand-in account
// per session at WA_WS_URL's `{session}`): each pairs, receives and sends on its own, nothing crosses
// between them, session keys reach their own session only, and a deleted session is gone.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { createTRPCClient, httpLink } from '@trpc/client'
import type { AppRouter } from '../src/client.js'
import { releaseBaileysTimers, startStandInFleet, type StandInFleet } from './standin/index.js'
import { Receiver, until } from './support/receiver.js'
import { startTestService, type TestService } from './support/service.js'
import { ALICE, BOB, waitUntil } from './support/whatsapp.js'

const ADMIN = 'admin-key-for-tests'
let fleet: StandInFleet
let service: TestService
const receivers = new Map<string, Receiver>()

const api = async (path: string, init: { method?: string; body?: unknown; key?: string | null } = {}) => {
  const key = init.key === undefined ? ADMIN : init.key
  const res = await fetch(`${service.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: { ...(key !== null && { 'x-api-key': key }), ...(init.body !== undefined && { 'content-type': 'application/json' }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  })
  const text = await res.text()
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined }
}

async function pair(session: string) {
  const prefix = session === 'default' ? '/api' : `/api/sessions/${session}`
  const qr = await waitUntil(`a QR for ${session}`, async () => {
    const res = await fetch(`${service.url}${prefix}/qr`, { headers: { 'x-api-key': ADMIN } })
    return res.status === 200 ? res.text() : undefined
  })
  const standin = fleet.get(session)!
  await standin.scanQr(qr, { pushName: `Business ${session}`, platform: 'smba' })
  await standin.waitForLogin()
  await waitUntil(`${session} logged in`, async () => ((await api(`${prefix}/status`)).body?.loggedIn ? true : undefined), 15_000)
}

before(async () => {
  fleet = await startStandInFleet()
  for (const name of ['default', 'sales', 'support']) await fleet.add(name)
  const { fetchAgent, options } = fleet.socketOptionsFor('default')
  service = await startTestService(
    { API_KEY: ADMIN, WA_WS_URL: fleet.urlTemplate, SEND_MIN_GAP_MS: '0', RECONNECT_MIN_MS: '50', RECONNECT_MAX_MS: '500' },
    { socketOptions: { fetchAgent, options, connectTimeoutMs: 5_000 } },
  )
  for (const name of ['default', 'sales', 'support']) receivers.set(name, await Receiver.start())
})

after(async () => {
  await service?.close()
  await Promise.all([...receivers.values()].map((r) => r.close()))
  await fleet?.close()
  releaseBaileysTimers()
})

test('sessions are created, listed and validated; default exists from the start', async () => {
  const sales = await api('/api/sessions', { body: { name: 'sales', webhook: { url: `${receivers.get('sales')!.url}/hook` } } })
  assert.equal(sales.status, 200, JSON.stringify(sales.body))
  assert.equal(sales.body!.name, 'sales')
  assert.equal((await api('/api/sessions', { body: { name: 'support' } })).status, 200)
  assert.equal((await api('/api/sessions', { body: { name: 'sales' } })).status, 409)
  const bad = await api('/api/sessions', { body: { name: 'Not Valid!' } })
  assert.equal(bad.status, 400)
  assert.equal(bad.body!.issues[0].path, 'name')

  const list = await api('/api/sessions')
  assert.deepEqual(list.body!.sessions.map((s: { name: string }) => s.name), ['default', 'sales', 'support'])
  assert.equal(list.body!.next, null)
  const page = await api('/api/sessions?limit=2')
  assert.deepEqual(page.body!.sessions.map((s: { name: string }) => s.name), ['default', 'sales'])
  assert.equal(page.body!.next, 'sales')
  assert.deepEqual((await api('/api/sessions?limit=2&after=sales')).body!.sessions.map((s: { name: string }) => s.name), ['support'])

  const unknown = await api('/api/sessions/nobody/status')
  assert.equal(unknown.status, 404)
  assert.match(unknown.body!.error, /nobody/)
  assert.equal((await api('/api/sessions/nobody')).status, 404)
  assert.equal((await api('/api/sessions/default', { method: 'DELETE' })).status, 409)
  // The webhook given at creation is the session's own, and default's is untouched.
  assert.equal((await api('/api/sessions/sales/webhook')).body!.url, `${receivers.get('sales')!.url}/hook`)
  assert.equal((await api('/api/webhook')).body!.url, null)
})

test('three sessions pair at once, each receives and sends, and nothing crosses between them', async () => {
  await api('/api/webhook', { body: { url: `${receivers.get('default')!.url}/hook` } })
  await api('/api/sessions/support/webhook', { body: { url: `${receivers.get('support')!.url}/hook` } })
  await Promise.all(['default', 'sales', 'support'].map(pair))
  const devices = await Promise.all(['default', 'sales', 'support'].map(async (s) => (await api(s === 'default' ? '/api/status' : `/api/sessions/${s}/status`)).body!.device))
  assert.equal(new Set(devices).size, 3, `three different devices: ${devices.join(', ')}`)

  const ids = new Map<string, string>()
  for (const name of ['default', 'sales', 'support']) ids.set(name, await fleet.get(name)!.sendText(ALICE, `hello ${name}`))
  for (const name of ['default', 'sales', 'support']) {
    const receiver = receivers.get(name)!
    const messages = await until(() => {
      const found = receiver.requests.filter((r) => r.event === 'message')
      return found.length >= 1 ? found : undefined
    }, `the message to ${name}`, 10_000)
    const data = JSON.parse(messages[0]!.text).data as { text: string; messageID: string }
    assert.equal(data.text, `hello ${name}`)
    assert.equal(data.messageID, ids.get(name))
  }
  // Wait a moment for strays, then check each receiver got only its own session's message.
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const name of ['default', 'sales', 'support']) {
    const texts = receivers.get(name)!.requests.filter((r) => r.event === 'message').map((r) => JSON.parse(r.text).data.text as string)
    assert.deepEqual(texts, [`hello ${name}`], `${name}'s webhook`)
    const logged = (await api(name === 'default' ? '/api/events?type=message' : `/api/sessions/${name}/events?type=message`)).body as unknown as Array<{ data: { text: string } }>
    assert.deepEqual(logged.map((e) => e.data.text), [`hello ${name}`], `${name}'s event log`)
  }

  // Sends: REST per session, the contract path for default, and tRPC with a session input.
  const sent = await api('/api/sessions/sales/send/text', { body: { phone: BOB.phone, message: 'from sales' } })
  assert.equal(sent.status, 200, JSON.stringify(sent.body))
  assert.equal((await api('/api/send/text', { body: { phone: BOB.phone, message: 'from default' } })).status, 200)
  const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${service.url}/trpc`, headers: { 'x-api-key': ADMIN } })] })
  await trpc.messages.sendText.mutate({ session: 'support', phone: BOB.phone, message: 'from support' })
  assert.equal((await trpc.session.status.query({ session: 'support' })).loggedIn, true)
  assert.equal((await trpc.session.status.query()).device, devices[0])
  for (const [name, text] of [['sales', 'from sales'], ['default', 'from default'], ['support', 'from support']] as const) {
    const out = await fleet.get(name)!.waitForOutgoing((m) => m.text === text)
    assert.equal(out.text, text)
  }
  for (const name of ['default', 'sales', 'support']) {
    const texts = fleet.get(name)!.outbox().map((m) => m.text)
    assert.deepEqual(texts, [`from ${name}`], `what ${name}'s account sent`)
  }
})

test('a session key reaches its own session only; keys are listed without the key and revoked', async () => {
  const made = await api('/api/sessions/sales/keys', { method: 'POST', body: {} })
  assert.equal(made.status, 200, JSON.stringify(made.body))
  const key = made.body!.key as string
  assert.match(key, /^wsk_/)
  const listed = await api('/api/sessions/sales/keys')
  assert.deepEqual(listed.body, [{ id: made.body!.id, session: 'sales', createdAt: made.body!.createdAt }])
  assert.ok(!JSON.stringify(listed.body).includes(key), 'the key itself is never listed')

  assert.equal((await api('/api/sessions/sales/status', { key })).status, 200)
  assert.equal((await api('/api/sessions/sales/send/text', { key, body: { phone: BOB.phone, message: 'with the sales key' } })).status, 200)
  // Anywhere else: 403 with a JSON body, also the contract paths (default) and the session list.
  for (const [path, body] of [
    ['/api/sessions/support/send/text', { phone: BOB.phone, message: 'as support' }],
    ['/api/send/text', { phone: BOB.phone, message: 'as default' }],
    ['/api/sessions/support/status', undefined],
    ['/api/sessions', undefined],
    ['/api/sessions/sales/keys', undefined],
  ] as const) {
    const res = await api(path, { key, ...(body && { body }) })
    assert.equal(res.status, 403, `${path}: ${JSON.stringify(res.body)}`)
    assert.equal(res.body!.code, 'FORBIDDEN')
  }
  const trpc = createTRPCClient<AppRouter>({ links: [httpLink({ url: `${service.url}/trpc`, headers: { 'x-api-key': key } })] })
  await assert.rejects(trpc.messages.sendText.mutate({ session: 'support', phone: BOB.phone, message: 'x' }), /reaches session "sales" only/)
  assert.ok(!fleet.get("support")!.outbox().some((m) => m.text === 'as support' || m.text === 'x'), 'nothing was sent as support')

  assert.equal((await api(`/api/sessions/sales/keys/${made.body!.id}`, { method: 'DELETE' })).status, 200)
  assert.equal((await api(`/api/sessions/sales/keys/${made.body!.id}`, { method: 'DELETE' })).status, 404)
  assert.equal((await api('/api/sessions/sales/status', { key })).status, 401)
})

test('the OpenAPI document lists each operation at the contract path and per session', async () => {
  const document = (await api('/openapi.json')).body as { paths: Record<string, Record<string, { parameters?: Array<{ name: string; in: string }>; requestBody?: any }>> }
  for (const path of ['/api/send/text', '/api/status', '/api/webhook', '/api/qr']) {
    assert.ok(document.paths[path], path)
    assert.ok(document.paths[`/api/sessions/{session}${path.slice(4)}`], `per session: ${path}`)
  }
  const flat = document.paths['/api/send/text']!.post!
  assert.ok(!('session' in (flat.requestBody.content['application/json'].schema.properties ?? {})), 'the contract path has no session field')
  const scoped = document.paths['/api/sessions/{session}/status']!.get!
  assert.ok(scoped.parameters!.some((p) => p.name === 'session' && p.in === 'path'))
  assert.ok(document.paths['/api/sessions']?.get && document.paths['/api/sessions']?.post)
  assert.ok(document.paths['/api/sessions/{session}']?.delete)
  assert.ok(document.paths['/api/sessions/{session}/keys/{id}']?.delete)
})

test('deleting a session logs it out, stops it and wipes its rows', async () => {
  const standin = fleet.get('support')!
  const res = await api('/api/sessions/support', { method: 'DELETE' })
  assert.equal(res.status, 200, JSON.stringify(res.body))
  assert.equal((await api('/api/sessions/support/status')).status, 404)
  await waitUntil('the device unlinked at the stand-in', async () => (standin.pairedDevice === undefined ? true : undefined)).catch(() => undefined)
  for (const table of ['authKey', 'setting', 'contact', 'lidMapping', 'event', 'webhookDelivery', 'sentMessage', 'sessionKey'] as const) {
    const count = await (service.db[table] as unknown as { count(args: unknown): Promise<number> }).count({ where: { session: 'support' } })
    assert.equal(count, 0, `${table} rows of the deleted session`)
  }
  assert.ok((await service.db.authKey.count({ where: { session: 'sales' } })) > 0, 'the other sessions keep theirs')
  assert.deepEqual((await api('/api/sessions')).body!.sessions.map((s: { name: string }) => s.name), ['default', 'sales'])
  assert.equal((await api('/api/sessions/sales/status')).body!.loggedIn, true)
})

test('the hop between processes needs the shared secret: a guessed X-Wsgo-Internal header is no key', async () => {
  const { internalSecret } = await import('../src/http/forward.js')
  const secret = internalSecret(service.config)!
  assert.ok(secret && secret !== ADMIN, 'derived from API_KEY, not the key itself')
  const asOwner = (value: string) => fetch(`${service.url}/trpc/session.status?input=${encodeURIComponent(JSON.stringify({ session: 'sales' }))}`, { headers: { 'x-wsgo-internal': value } })
  assert.equal((await asOwner('guess')).status, 401)
  assert.equal((await asOwner(ADMIN)).status, 401, 'the admin key is not the hop secret')
  const ok = await asOwner(secret)
  assert.equal(ok.status, 200)
  assert.equal(((await ok.json()) as { result: { data: { loggedIn: boolean } } }).result.data.loggedIn, true)
})
