// EXPERIMENT: tRPC through the service as it is vs through experiments/trpc-lite.ts, in one process
// (service paired with the stand-in when PAIR=1, session.sendText stubbed), both against bare
// Express. Checks a few response bodies are identical first.
//   PAIR=1 node --import tsx bench/experiments/trpc-lite-compare.ts
import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import { appRouter } from '../../src/routers/index.js'
import { startWithStandIn } from '../../tests/support/whatsapp.js'
import { fakeSend, startBareExpress } from '../floors.js'
import { LoadGenerator } from '../load.js'
import { median } from '../stats.js'
import { trpcLite } from './trpc-lite.js'
const h = await startWithStandIn({ SEND_MIN_GAP_MS: '0' })
if (process.env.PAIR) await h.pair()
const services = h.service.services
services.session.sendText = async () => fakeSend()
const createContext = (_req: IncomingMessage) => ({ services, presentedKey: undefined })
const standard = createHTTPHandler({ router: appRouter, basePath: '/trpc/', createContext: ({ req }) => createContext(req), maxBodySize: services.config.BODY_LIMIT })
const lite = trpcLite({ router: appRouter, basePath: '/trpc/', createContext, maxBodySize: services.config.BODY_LIMIT, fallback: standard })
const server = createServer(lite)
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
const liteUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
// Spot checks: the same request to both; bodies compared with message ids and timestamps masked.
const post = (body: string) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body })
const checks: Array<[string, string, object]> = [
  ['mutation', '/trpc/messages.sendText?batch=1', post(JSON.stringify({ 0: { phone: '15550002222', message: 'x' } }))],
  ['validation error', '/trpc/messages.sendText?batch=1', post(JSON.stringify({ 0: { phone: 'abc', message: 'x' } }))],
  ['query', '/trpc/session.status?batch=1&input=%7B%7D', {}],
  ['batch of two queries', '/trpc/session.status,health.check?batch=1&input=%7B%7D', {}],
  ['mixed batch (one fails)', '/trpc/messages.sendText,messages.sendText?batch=1', post(JSON.stringify({ 0: { phone: '15550002222', message: 'x' }, 1: { phone: 'abc', message: 'x' } }))],
  ['not batched', '/trpc/session.status', {}],
  ['unknown procedure', '/trpc/nope.nothing?batch=1&input=%7B%7D', {}],
  ['query called with POST', '/trpc/session.status?batch=1', post('{}')],
  ['mutation called with GET', '/trpc/messages.sendText?batch=1&input=%7B%7D', {}],
  ['malformed JSON body', '/trpc/messages.sendText?batch=1', post('{"0":')],
]
const mask = (text: string) => text.replace(/3EB0[0-9A-F]+/g, 'ID').replace(/"timestamp":"[^"]+"/g, '"timestamp":"T"')
for (const [what, path, init] of checks) {
  const a = await fetch(h.url + path, init as RequestInit)
  const b = await fetch(liteUrl + path, init as RequestInit)
  const [ta, tb] = [mask(await a.text()), mask(await b.text())]
  console.log(`${what}: ${a.status} vs ${b.status}, ${a.status === b.status && ta === tb ? 'same' : `DIFFERENT\n  service: ${ta}\n  lite:    ${tb}`}`)
}
const bare = await startBareExpress(() => services.session.status())
const load = new LoadGenerator()
const rest = { method: 'POST' as const, path: '/api/send/text', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ phone: '15550002222', message: 'hello from the bench' }) }
const tsend = { method: 'POST' as const, path: '/trpc/messages.sendText?batch=1', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ 0: { phone: '15550002222', message: 'hello from the bench' } }) }
const tstat = { path: '/trpc/session.status?batch=1&input=%7B%7D' }
const probes: Array<[string, string, object]> = [
  ['bare Express send', bare.url, rest], ['tRPC send: service (current)', h.url, tsend], ['tRPC send: lite handler', liteUrl, tsend],
  ['bare Express status', bare.url, { path: '/api/status' }], ['tRPC status: service (current)', h.url, tstat], ['tRPC status: lite handler', liteUrl, tstat],
]
const res = new Map<string, number[]>()
for (const [k, u, r] of probes) await load.runOk(k, { url: u, requests: [r as never], connections: 10, duration: 0.5 })
for (let round = 0; round < 3; round++) for (const [k, u, r] of probes) { const x = await load.runOk(k, { url: u, requests: [r as never], connections: 10, duration: 2 }); res.set(k, [...(res.get(k) ?? []), x.rps]) }
for (const [k] of probes) { const floor = k.includes('send') ? 'bare Express send' : 'bare Express status'; const v = res.get(k)!; const f = res.get(floor)!; console.log(k.padEnd(40), median(v).toFixed(0).padStart(6), 'req/s  ratio', median(v.map((x, i) => x / f[i]!)).toFixed(2), v.map((x) => x.toFixed(0)).join(',')) }
await load.close(); await bare.close(); server.close(); server.closeAllConnections(); await h.close(); process.exit(0)
