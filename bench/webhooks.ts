// Webhook delivery (issue 6): how fast the worker empties a backlog into a loopback receiver that
// answers at once, and how long an incoming message takes from the stand-in sending it to the
// receiver having it, each beside the same receiver fed directly by a plain fetch loop.
import { performance } from 'node:perf_hooks'
import { deliveryHeaders } from '../src/webhooks/deliver.js'
import { startStandIn, type StandIn } from '../tests/standin/index.js'
import { buildServer } from '../scripts/build.mjs'
import { startServiceProcess } from '../tests/support/child.js'
import { tempDir } from '../tests/support/service.js'
import { waitUntil } from '../tests/support/whatsapp.js'
import { startFastReceiver, type FastReceiver } from './floors.js'
import { SENDER, startPaired, type Paired } from './paired.js'
import { comparedRows, series, type Compared, type SectionResult, type Sample } from './report.js'
import { settings } from './settings.js'
import { percentile, sleep } from './stats.js'

const CONCURRENCY = 8 // WEBHOOK_CONCURRENCY's default, which the service runs with here

/** The payload of a message event with another message id, as the service would write it. */
function payloadFor(template: string, messageId: string): string {
  const envelope = JSON.parse(template) as { event: string; data: Record<string, unknown> }
  return JSON.stringify({ ...envelope, data: { ...envelope.data, messageID: messageId } })
}

function post(receiver: FastReceiver, payload: string, deliveryId: string): Promise<void> {
  return fetch(receiver.url, {
    method: 'POST',
    headers: deliveryHeaders({ deliveryId, event: 'message', payload, secret: undefined }),
    body: payload,
    redirect: 'manual',
  }).then(async (res) => {
    await res.arrayBuffer()
    if (!res.ok) throw new Error(`receiver answered ${res.status}`)
  })
}

/**
 * One message at a time from the stand-in, two latencies to the receiver having it: from the frame
 * handed to the service's socket (the stand-in's sendText resolves once it is written), which is the
 * service's own path; and from the start of the send, which adds the stand-in's Signal encryption
 * (a sender's phone's work, not the service's) in this same process.
 */
async function serviceLatency(paired: { standin: StandIn; receiver: FastReceiver }, count: number, round: number): Promise<{ fromWire: Sample; fromSend: Sample }> {
  const fromWire: number[] = []
  const fromSend: number[] = []
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const t = performance.now()
    const id = await paired.standin.sendText(SENDER, `latency ${round}.${i}`)
    const written = performance.now()
    const arrived = await paired.receiver.waitForMessage(id)
    fromWire.push(arrived - written)
    fromSend.push(arrived - t)
    await sleep(5)
  }
  const rate = count / ((performance.now() - started) / 1000)
  return {
    fromWire: { rate, p50: percentile(fromWire, 50), p99: percentile(fromWire, 99) },
    fromSend: { rate, p50: percentile(fromSend, 50), p99: percentile(fromSend, 99) },
  }
}

/**
 * The service as it is deployed: its own process (`npm start`'s command: the bundle, its flags), paired with the stand-in
 * in this process over loopback, its webhook pointed at a receiver in this process too. Only the
 * service's own work is in its process, as with the real WhatsApp and a real receiver elsewhere.
 */
async function startPairedProcess(): Promise<{ standin: StandIn; receiver: FastReceiver; close(): Promise<void> }> {
  const standin = await startStandIn()
  const receiver = await startFastReceiver()
  await buildServer()
  const service = await startServiceProcess({ DATABASE_URL: `file:${tempDir()}/wsgo.db`, WA_WS_URL: standin.url, LOG_LEVEL: 'warn' }, { trustStandIn: true, production: true })
  const close = async () => {
    await service.stop()
    await standin.close()
    await receiver.close()
  }
  try {
    await waitUntil('a QR', async () => {
      const res = await fetch(`${service.url}/api/qr`)
      return res.status === 200 ? standin.scanQr(await res.text()) : undefined
    })
    await waitUntil('logged in', async () => ((await (await fetch(`${service.url}/api/status`)).json()) as { loggedIn: boolean }).loggedIn || undefined)
    const set = await fetch(`${service.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) })
    if (!set.ok) throw new Error(`setting the webhook failed: ${set.status}`)
    await receiver.waitForMessage(await standin.sendText(SENDER, 'warm-up'))
    return { standin, receiver, close }
  } catch (error) {
    await close()
    throw error
  }
}

/** The floor: the same payload POSTed with fetch, one at a time; latency = fetch started -> receiver has it. */
async function fetchLatency(receiver: FastReceiver, template: string, count: number, round: number): Promise<Sample> {
  const latencies: number[] = []
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const id = `FETCHLAT${round}x${i}`
    const t = performance.now()
    await post(receiver, payloadFor(template, id), id)
    latencies.push(receiver.arrivals.get(id)! - t)
    await sleep(5)
  }
  return { rate: count / ((performance.now() - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}

/** A backlog of `count` recorded events, written with the worker stopped, then delivered. */
async function backlogDrain(paired: Paired, template: string, count: number, round: number): Promise<Sample> {
  const { events, webhooks } = await paired.h.service.services.sessions.get('default')
  const webhookWorker = webhooks.first!.worker
  const data = (JSON.parse(template) as { data: Parameters<typeof events.record<'message'>>[1] }).data
  await webhookWorker.stop()
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const id = `BACKLOG${round}x${i}`
    ids.push(id)
    await events.record('message', { ...data, messageID: id })
  }
  const started = performance.now()
  await webhookWorker.start()
  await paired.receiver.waitForMessages(ids)
  let last = 0
  const latencies = ids.map((id) => {
    const at = paired.receiver.arrivals.get(id)!
    last = Math.max(last, at)
    return at - started
  })
  // Latency here is time since the drain began, not per delivery: reported as rates only.
  return { rate: count / ((last - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}

/** The floor: `count` POSTs of the same payload, CONCURRENCY loops of plain fetch. */
async function fetchDrain(receiver: FastReceiver, template: string, count: number, round: number): Promise<Sample> {
  let next = 0
  const latencies: number[] = []
  const started = performance.now()
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < count) {
        const id = `FETCHDRAIN${round}x${next++}`
        const t = performance.now()
        await post(receiver, payloadFor(template, id), id)
        latencies.push(performance.now() - t)
      }
    }),
  )
  return { rate: count / ((performance.now() - started) / 1000), p50: percentile(latencies, 50), p99: percentile(latencies, 99) }
}

export async function runWebhooks(log: (line: string) => void): Promise<SectionResult> {
  const { runs } = settings
  const latencyCount = 150
  const backlog = settings.messages * 2
  log('starting the service (SQLite) paired with the stand-in, webhook to a loopback receiver')
  const paired = await startPaired()
  log('starting the service as its own process, paired with a second stand-in')
  const deployed = await startPairedProcess().catch(async (error: unknown) => {
    await paired.close()
    throw error
  })
  try {
    const template = paired.receiver.lastBody
    const samples = { process: [] as Sample[], service: [] as Sample[], serviceFromSend: [] as Sample[], fetch: [] as Sample[], drain: [] as Sample[], fetchDrain: [] as Sample[] }
    const inProcess = { standin: paired.h.standin, receiver: paired.receiver }
    // Warm-up of every path.
    await serviceLatency(inProcess, 20, 0)
    await serviceLatency(deployed, 20, 0)
    await fetchLatency(paired.receiver, template, 20, 0)
    await backlogDrain(paired, template, 100, 0)
    await fetchDrain(paired.receiver, template, 100, 0)
    for (let round = 1; round <= runs; round++) {
      log(`round ${round}/${runs}: ${latencyCount} messages one at a time (and by fetch), then a backlog of ${backlog} (and ${backlog} fetches)`)
      samples.fetch.push(await fetchLatency(paired.receiver, template, latencyCount, round))
      samples.process.push((await serviceLatency(deployed, latencyCount, round)).fromWire)
      const { fromWire, fromSend } = await serviceLatency(inProcess, latencyCount, round)
      samples.service.push(fromWire)
      samples.serviceFromSend.push(fromSend)
      samples.fetchDrain.push(await fetchDrain(paired.receiver, template, backlog, round))
      samples.drain.push(await backlogDrain(paired, template, backlog, round))
    }
    const latencyRows: Compared[] = [
      { label: 'plain fetch -> receiver, one at a time (floor)', samples: samples.fetch, floor: samples.fetch },
      { label: 'service in its own process: message frame on its socket -> Baileys -> log + outbox -> worker -> receiver', samples: samples.process, floor: samples.fetch },
      { label: 'service in this process (with the stand-in and the receiver): the same', samples: samples.service, floor: samples.fetch },
      { label: 'service in this process: from the start of the stand-in encrypting the message', samples: samples.serviceFromSend, floor: samples.fetch },
    ]
    const drainRows: Compared[] = [
      { label: `plain fetch, ${CONCURRENCY} loops (floor)`, samples: samples.fetchDrain, floor: samples.fetchDrain },
      { label: `webhook worker draining the outbox (concurrency ${CONCURRENCY})`, samples: samples.drain, floor: samples.fetchDrain },
    ]
    const p99 = series(samples.process.map((s) => s.p99))
    const latencyTable = comparedRows(latencyRows, 'msgs/s')
    // The drain's per-delivery latency is not comparable with one fetch's round trip: rates only.
    const drainTable = comparedRows(drainRows, 'deliveries/s')
    drainTable.columns = [drainTable.columns[0]!, drainTable.columns[1]!, drainTable.columns[4]!]
    drainTable.rows = drainTable.rows.map((row) => [row[0]!, row[1]!, row[4]!])
    return {
      tables: [
        {
          title: 'Incoming message to webhook receiver, one message at a time (SQLite)',
          ...latencyTable,
          notes: [
            `${runs} runs of ${latencyCount} messages, 5 ms apart; latency to the receiver having read the body, from the message frame written to the service's socket, or from the start of the send (adding the stand-in's Signal encryption, which a sender's phone does); median (min-max) of the per-run p50/p99.`,
            'The target is checked on the first row: the service in its own process, as deployed (the node command of `npm start`, with tsx loaded beside it only for the stand-in test root), the stand-in and the receiver in the bench process. In the other rows all three share one process, garbage collector and event loop.',
          ],
        },
        {
          title: 'Deliveries per second: a backlog in the outbox drained to a receiver that answers at once (SQLite)',
          ...drainTable,
          notes: [
            `${runs} runs of ${backlog} deliveries; the backlog is recorded through EventLog.record with the worker stopped, then timed from worker.start() to the last arrival. Each delivery: claimed up to ${CONCURRENCY} at a time (one UPDATE ... RETURNING), POST, settle (update).`,
          ],
        },
      ],
      checks: [{ what: 'incoming message -> webhook p99, loopback, SQLite (service in its own process)', value: `${p99.median.toFixed(1)} ms`, target: '< 25 ms', ok: p99.median < 25 }],
      notes: [],
    }
  } finally {
    await deployed.close()
    await paired.close()
  }
}
