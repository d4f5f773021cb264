// HTTP, in two parts, every figure beside its floor measured in the same rounds:
//  1. POST /api/send/text over REST and tRPC (httpBatchLink's own wire format, one call per request
//     and ten), the service in this process paired with the local WhatsApp stand-in: with the
//     session's send stubbed (the HTTP layer) and for real (the full path through Baileys);
//  2. GET /health, GET /api/status and tRPC session.status, the service (unpaired) and the floors
//     each in their own process.
// autocannon runs in a worker thread (its own core). See RESULTS.md for what each floor is and why.
import { rmSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { createTRPCClient, httpBatchLink } from '@trpc/client'
import type { AppRouter } from '../src/routers/index.js'
import type { WhatsAppConnection } from '../src/session/connection.js'
import { tempDir } from '../tests/support/service.js'
import { ALICE, startWithStandIn, type WhatsAppHarness } from '../tests/support/whatsapp.js'
import { fakeSend, startBareExpress, type Floor } from './floors.js'
import { LoadGenerator, type RequestSpec } from './load.js'
import { startChild, startCommand, type Child } from './processes.js'
import { comparedRows, rateRatio, type Compared, type SectionResult, type Sample } from './report.js'
import { settings } from './settings.js'
import { percentile, sleep } from './stats.js'

/** The requests a real tRPC client (httpBatchLink) sends, recorded from its fetch calls. */
async function recordTrpcRequests(url: string): Promise<{ sendOne: RequestSpec; sendTen: RequestSpec; status: RequestSpec }> {
  const seen: RequestSpec[] = []
  const client = createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${url}/trpc`,
        fetch: async (input, init) => {
          const target = new URL(String(input))
          const headers = Object.fromEntries(new Headers(init?.headers as ConstructorParameters<typeof Headers>[0]))
          const body = init?.body
          seen.push({
            method: (init?.method ?? 'GET') as 'GET' | 'POST',
            path: target.pathname + target.search,
            headers,
            ...(typeof body === 'string' && { body }),
          })
          return fetch(input, init as RequestInit)
        },
      }),
    ],
  })
  const input = { phone: ALICE.phone, message: 'hello from the bench' }
  await client.messages.sendText.mutate(input)
  await Promise.all(Array.from({ length: 10 }, () => client.messages.sendText.mutate(input)))
  await client.session.status.query()
  const [sendOne, sendTen, status] = seen
  if (!sendOne || !sendTen || !status || seen.length !== 3) throw new Error(`expected 3 tRPC requests, saw ${seen.length}`)
  if (!sendTen.path.includes(Array(10).fill('messages.sendText').join(','))) throw new Error(`the ten calls were not batched: ${sendTen.path}`)
  return { sendOne, sendTen, status }
}

/** The `default` session's WhatsApp connection. */
type Session = WhatsAppConnection

/** The full-path floor: session.sendText called directly, `connections` at a time, no HTTP. */
async function directSends(session: Session, seconds: number, concurrency: number): Promise<Sample> {
  const latencies: number[] = []
  const started = performance.now()
  const deadline = started + seconds * 1000
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now()
        await session.sendText(`${ALICE.phone}@s.whatsapp.net`, 'hello from the bench')
        latencies.push(performance.now() - t)
      }
    }),
  )
  const elapsed = (performance.now() - started) / 1000
  return { rate: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}

interface Probe {
  key: string
  run(seconds: number): Promise<Sample>
  /** Whether it goes through the real send queue (and may leave sends queued behind it). */
  sends?: boolean
}

/** Measures every probe once per round (floors beside what they are compared with), after a warm-up. */
async function rounds(probes: Probe[], settle: (probe: Probe) => Promise<void>, log: (line: string) => void, what: string): Promise<Map<string, Sample[]>> {
  const { runs, seconds } = settings
  log(`${what}: warming up, ${probes.length} measurements x 0.5 s`)
  for (const probe of probes) {
    await probe.run(0.5)
    await settle(probe)
  }
  const samples = new Map<string, Sample[]>(probes.map((p) => [p.key, []]))
  for (let round = 1; round <= runs; round++) {
    log(`${what}: round ${round}/${runs}, ${probes.length} x ${seconds} s`)
    for (const probe of probes) {
      samples.get(probe.key)!.push(await probe.run(seconds))
      await settle(probe)
    }
  }
  return samples
}

const pick = (samples: Map<string, Sample[]>) => (label: string, key: string, floor: string): Compared => ({ label, samples: samples.get(key)!, floor: samples.get(floor)! })

/** Part 1, in this process: POST /api/send/text through the paired service, stubbed and for real. */
async function sendText(load: LoadGenerator, log: (line: string) => void): Promise<{ stubRows: Compared[]; fullRows: Compared[]; trpcStatus: RequestSpec }> {
  const { connections } = settings
  let harness: WhatsAppHarness | undefined
  let bareExpress: Floor | undefined
  try {
    log('starting the service paired with the stand-in (SEND_MIN_GAP_MS=0, log level silent)')
    harness = await startWithStandIn({ SEND_MIN_GAP_MS: '0' })
    await harness.pair()
    const h = harness
    const session = await (await h.service.services.sessions.get('default')).connection()
    const realSendText = session.sendText
    bareExpress = await startBareExpress(() => session.status())
    const trpc = await recordTrpcRequests(h.url)
    const restSend: RequestSpec = {
      method: 'POST',
      path: '/api/send/text',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: ALICE.phone, message: 'hello from the bench' }),
    }
    const http = (key: string, url: string, request: RequestSpec, callsPerRequest = 1): Probe => ({
      key,
      async run(s) {
        const r = await load.runOk(key, { url, requests: [request], connections, duration: s })
        return { rate: r.rps * callsPerRequest, p50: r.p50, p99: r.p99 }
      },
    })
    /** The same probe with session.sendText replaced by a stub answering the same shape at once. */
    const stubbed = (probe: Probe): Probe => ({
      key: probe.key,
      async run(s) {
        session.sendText = async () => fakeSend()
        try {
          return await probe.run(s)
        } finally {
          session.sendText = realSendText
        }
      },
    })
    // Sends still queued when a load run ends (autocannon stops waiting, the send queue does not)
    // must not spill into the next measurement: a real send queues behind them, so when it is
    // through they all are. Then a pause for the stand-in's receipts.
    const settle = async (probe: Probe) => {
      if (!probe.sends) return
      await realSendText.call(session, `${ALICE.phone}@s.whatsapp.net`, 'queue drained')
      await sleep(200)
    }
    const probes: Probe[] = [
      http('bare Express send/text', bareExpress.url, restSend),
      stubbed(http('stub REST send/text', h.url, restSend)),
      stubbed(http('stub tRPC send/text', h.url, trpc.sendOne)),
      stubbed(http('stub tRPC send/text x10', h.url, trpc.sendTen, 10)),
      { key: 'direct send', run: (s) => directSends(session, s, connections), sends: true },
      { ...http('full REST send/text', h.url, restSend), sends: true },
      { ...http('full tRPC send/text', h.url, trpc.sendOne), sends: true },
      { ...http('full tRPC send/text x10', h.url, trpc.sendTen, 10), sends: true },
    ]
    const compared = pick(await rounds(probes, settle, log, 'send/text'))
    return {
      trpcStatus: trpc.status,
      stubRows: [
        compared('bare Express: JSON parse + same zod schema (floor)', 'bare Express send/text', 'bare Express send/text'),
        compared('REST POST /api/send/text', 'stub REST send/text', 'bare Express send/text'),
        compared('tRPC messages.sendText, 1 call/request', 'stub tRPC send/text', 'bare Express send/text'),
        compared('tRPC messages.sendText, 10 calls/request (calls/s)', 'stub tRPC send/text x10', 'bare Express send/text'),
      ],
      fullRows: [
        compared('session.sendText called directly, no HTTP (floor)', 'direct send', 'direct send'),
        compared('REST POST /api/send/text', 'full REST send/text', 'direct send'),
        compared('tRPC messages.sendText, 1 call/request', 'full tRPC send/text', 'direct send'),
        compared('tRPC messages.sendText, 10 calls/request (calls/s)', 'full tRPC send/text x10', 'direct send'),
      ],
    }
  } finally {
    await bareExpress?.close()
    await harness?.close()
  }
}

/** Part 2, each server in its own process: GET /health and GET /api/status, REST and tRPC. */
async function cheapQueries(load: LoadGenerator, trpcStatus: RequestSpec, log: (line: string) => void): Promise<{ getRows: Compared[]; dualRows: Compared[] }> {
  const { connections } = settings
  const children: Child[] = []
  const dir = tempDir('wsgo-bench-')
  try {
    log('starting the service (unpaired, SQLite) and the floor servers, each in its own process')
    // As users run it: npm start's node command (the bundle and its flags).
    const start = await startCommand()
    const service = await startChild(start.args, { ...start.env, DATABASE_URL: `file:${path.join(dir, 'wsgo.db')}` })
    children.push(service)
    // Answered by the floors as they are: the service's own status JSON.
    const status = await (await fetch(`${service.url}/api/status`)).text()
    const bareHttp = await startChild(['--import', 'tsx', 'bench/floor-server.ts', 'http'], { STATUS_JSON: status })
    children.push(bareHttp)
    const bareExpress = await startChild(['--import', 'tsx', 'bench/floor-server.ts', 'express'], { STATUS_JSON: status })
    children.push(bareExpress)
    const http = (key: string, url: string, request: RequestSpec): Probe => ({
      key,
      async run(s) {
        const r = await load.runOk(key, { url, requests: [request], connections, duration: s })
        return { rate: r.rps, p50: r.p50, p99: r.p99 }
      },
    })
    const probes: Probe[] = [
      http('bare http /health', bareHttp.url, { path: '/health' }),
      http('REST /health', service.url, { path: '/health' }),
      http('bare http /api/status', bareHttp.url, { path: '/api/status' }),
      http('REST /api/status', service.url, { path: '/api/status' }),
      http('bare Express /api/status', bareExpress.url, { path: '/api/status' }),
      http('tRPC session.status', service.url, trpcStatus),
    ]
    const compared = pick(await rounds(probes, async () => {}, log, 'GET routes'))
    return {
      getRows: [
        compared('bare Node http GET /health (floor)', 'bare http /health', 'bare http /health'),
        compared('REST GET /health', 'REST /health', 'bare http /health'),
        compared('bare Node http GET /api/status (floor)', 'bare http /api/status', 'bare http /api/status'),
        compared('REST GET /api/status', 'REST /api/status', 'bare http /api/status'),
        compared('tRPC session.status (GET, httpBatchLink)', 'tRPC session.status', 'bare http /api/status'),
      ],
      dualRows: [
        compared('bare Express GET /api/status, res.json (floor)', 'bare Express /api/status', 'bare Express /api/status'),
        compared('REST GET /api/status', 'REST /api/status', 'bare Express /api/status'),
        compared('tRPC session.status', 'tRPC session.status', 'bare Express /api/status'),
      ],
    }
  } finally {
    for (const child of children) await child.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function runHttp(log: (line: string) => void): Promise<SectionResult> {
  const { runs, seconds, connections } = settings
  const load = new LoadGenerator()
  try {
    const { stubRows, fullRows, trpcStatus } = await sendText(load, log)
    const { getRows, dualRows } = await cheapQueries(load, trpcStatus, log)
    const restRatio = rateRatio(stubRows[1]!)
    const trpcRatio = rateRatio(stubRows[2]!)
    const restQuery = rateRatio(dualRows[1]!)
    const trpcQuery = rateRatio(dualRows[2]!)
    const how = `${runs} runs of ${seconds} s, ${connections} connections; median (min-max); ratios per run against the floor of the same round.`
    return {
      tables: [
        {
          title: 'POST /api/send/text, HTTP layer: session.sendText replaced in-process by a stub answering the same shape (service paired, in this process)',
          ...comparedRows(stubRows, 'calls/s'),
          notes: [how, 'The stub is put on the live session object by the bench for these runs only; src/ is unchanged. The floor runs in the same process.'],
        },
        {
          title: 'POST /api/send/text, full path: Baileys encrypts, the stand-in (same process) decrypts and acks; sends are serialised by the send queue (SEND_MIN_GAP_MS=0)',
          ...comparedRows(fullRows, 'calls/s'),
          notes: [how, 'Before each measurement, the sends still queued from the previous one are waited for.'],
        },
        {
          title: 'GET /health and GET /api/status against a bare Node http server answering the same JSON (each server in its own process; the service as npm start runs it, unpaired)',
          ...comparedRows(getRows),
          notes: [how],
        },
        { title: 'The same cheap query on both interfaces against bare Express (own processes)', ...comparedRows(dualRows), notes: [how] },
      ],
      checks: [
        { what: 'REST send/text (HTTP layer) vs bare Express', value: restRatio.median.toFixed(2), target: '>= 0.60', ok: restRatio.median >= 0.6 },
        { what: 'tRPC send/text (HTTP layer, 1 call/request) vs bare Express', value: trpcRatio.median.toFixed(2), target: '>= 0.60', ok: trpcRatio.median >= 0.6 },
        { what: 'REST GET /api/status vs bare Express (own processes)', value: restQuery.median.toFixed(2), target: '>= 0.60', ok: restQuery.median >= 0.6 },
        { what: 'tRPC session.status vs bare Express (own processes)', value: trpcQuery.median.toFixed(2), target: '>= 0.60', ok: trpcQuery.median >= 0.6 },
      ],
      notes: [],
    }
  } finally {
    await load.close()
  }
}
