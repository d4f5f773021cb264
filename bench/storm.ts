// The storm budget (issue 18): the service as deployed (`npm start`'s command, its own process,
// SQLite) takes a burst of 2,000 incoming messages, then 10,000 it cannot decrypt, while /health
// and /api/status are probed on a fixed timetable and a webhook receiver that answers at once notes
// every delivery. Targets: /health p99 < 100 ms and max < 500 ms in each storm; no delivery timed
// out that the receiver answered in time; no duplicate deliveries; peak RSS growth < 100 MB; and
// the burst's throughput at least 0.5 of Baileys alone (bench/storm-floor.ts: the same messages,
// the same node flags, keys in memory, nothing else) measured in the same run.
//
// The messages of the burst are encrypted by the stand-in before the clock starts and handed over
// at once (StandIn.prepareBurst), as a WhatsApp server delivering a backlog would: the pace is the
// device's. The undecryptable ones go in batches of 250, each after the device answered the last
// one (its retry receipt), like tests/log-storm.test.ts and WhatsApp's server. Both run with
// WA_RETRY_REQUEST_DELAY_MS=0: Baileys' default spaces retry receipts 250 ms apart, one at a time,
// which would make 10,000 take 40 minutes and never storm.
//
// Observers sit in a worker thread (bench/storm-watch.mjs) so that the stand-in's work on this
// thread does not delay them. Knobs: BENCH_STORM_BURST (2000), BENCH_STORM_UNDECRYPTABLE (10000),
// BENCH_STORM_PROBE_MS (20), BENCH_STORM_PROFILE=<dir> (the service writes a CPU profile there),
// BENCH_STORM_LOG=<file> (the service's output is written there), BENCH_STORM_TIMELINE=1 (prints
// /health latency per 500 ms, the /health requests that reached the service per 500 ms, and its
// longest event-loop gaps: where a stall is, and whether requests waited in the loop or before it),
// BENCH_STORM_GAP_MS (100: the gaps listed and profiled are the turns longer than that), BENCH_STORM_WARM=1 (the prober opens its keep-alive connections before the storm; by default each
// storm starts with none, as a health checker that connects for every probe meets it).
import { fork, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { Worker } from 'node:worker_threads'
import { build } from 'esbuild'
import { startStandIn, type StandIn } from '../tests/standin/index.js'
import { textMessage } from '../tests/standin/contact-messages.js'
import { tempDir } from '../tests/support/service.js'
import { ALICE } from '../tests/support/whatsapp.js'
import { root, startChild, startCommand, type Child } from './processes.js'
import { type Check, type SectionResult } from './report.js'
import { trustPreload } from './sessions.js'
import { fmt, percentile, sleep } from './stats.js'

const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer`)
  return value
}
const BURST = number('BENCH_STORM_BURST', 2_000)
const UNDECRYPTABLE = number('BENCH_STORM_UNDECRYPTABLE', 10_000)
const BATCH = 250
const PROBE_MS = number('BENCH_STORM_PROBE_MS', 20)
const PROFILE_DIR = process.env.BENCH_STORM_PROFILE
const LOG_FILE = process.env.BENCH_STORM_LOG
const TIMEOUT_MS = 10_000 // WEBHOOK_TIMEOUT_MS's default, which the service runs with
const SENDER = ALICE

const now = () => performance.timeOrigin + performance.now()

// ---- the observers' thread ------------------------------------------------------------------------

interface ProbeSamples {
  health: number[]
  healthAt: number[]
  /** [due ms after probing started, ms from due to the request written] */
  sentLag: Array<[number, number]>
  status: number[]
  failures: string[]
}
interface ReceivedDelivery {
  deliveryId: string
  arrivals: number[]
  answeredMs: number[]
}

class Watch {
  private readonly worker = new Worker(new URL('./storm-watch.mjs', import.meta.url))
  private next = 0
  private readonly calls = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()

  constructor() {
    this.worker.on('message', ({ id, result, error }: { id: number; result?: unknown; error?: string }) => {
      const call = this.calls.get(id)
      this.calls.delete(id)
      if (error) call?.reject(new Error(error))
      else call?.resolve(result)
    })
  }

  call<T>(cmd: string, extra: object = {}): Promise<T> {
    const id = ++this.next
    return new Promise<T>((resolve, reject) => {
      this.calls.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.worker.postMessage({ id, cmd, ...extra })
    })
  }

  async close(): Promise<void> {
    await this.call('close').catch(() => {})
    await this.worker.terminate()
  }
}

// ---- waiting --------------------------------------------------------------------------------------

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs = 25): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

/** When the stand-in had a receipt for every one of `ids` (polled: its own waitFor scans on every node). */
async function receiptsFor(standin: StandIn, ids: string[], timeoutMs: number): Promise<number> {
  const missing = new Set(ids)
  let seen = 0
  return waitFor(
    `receipts for ${ids.length} messages`,
    () => {
      const receipts = standin.receipts()
      for (; seen < receipts.length; seen++) missing.delete(receipts[seen]!.id)
      return missing.size === 0 ? now() : undefined
    },
    timeoutMs,
  )
}

/** Undecryptable messages in batches, each once the last one's retry receipt is in; when the last one was answered. */
async function undecryptableStorm(standin: StandIn, count: number): Promise<number> {
  let at = now()
  for (let sent = 0; sent < count; sent += BATCH) {
    const ids = standin.sendUndecryptable(SENDER, Math.min(BATCH, count - sent))
    at = await receiptsFor(standin, [ids.at(-1)!], 120_000)
  }
  return at
}

const texts = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => textMessage(`${prefix} ${i}`))

function rssSampler(child: { rss(): number }): { stop(): number } {
  let peak = child.rss()
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, child.rss())
    } catch {
      // the process is gone; the peak so far stands
    }
  }, 50)
  return {
    stop() {
      clearInterval(timer)
      return peak
    },
  }
}

// ---- the service ----------------------------------------------------------------------------------

const loopFile = (dir: string) => path.join(dir, 'loop-delay.json')

/** The service's own event-loop delay since the last call (bench/storm-loop.mjs, preloaded in it). */
async function serviceLoopDelay(child: Child, dir: string): Promise<Latencies> {
  const file = loopFile(dir)
  rmSync(file, { force: true })
  process.kill(child.pid, 'SIGUSR2')
  const text = await waitFor("the service's event-loop delay", () => (existsSync(file) ? readFileSync(file, 'utf8') : undefined), 30_000, 20)
  return { ...(JSON.parse(text) as Omit<Latencies, 'count'>), count: 0 }
}

async function startService(standin: StandIn, receiverUrl: string, dir: string, log: (line: string) => void): Promise<{ child: Child; command: string }> {
  const start = await startCommand()
  const preload = await trustPreload()
  // Made now: the service writes its SQL counts there on a signal, long before its profile.
  for (const dir of [PROFILE_DIR, process.env.BENCH_STORM_SQL && path.dirname(process.env.BENCH_STORM_SQL)]) if (dir) mkdirSync(dir, { recursive: true })
  const profile = PROFILE_DIR ? [`--cpu-prof`, `--cpu-prof-dir=${path.resolve(PROFILE_DIR)}`] : []
  const args = [...start.args.slice(0, -1), ...profile, '--import', preload, '--import', './bench/storm-loop.mjs', start.args.at(-1)!]
  const child = await startChild(args, {
    ...start.env,
    BENCH_LOOP_FILE: loopFile(dir),
    DATABASE_URL: `file:${dir}/wsgo.db`,
    WA_WS_URL: standin.url,
    LOG_LEVEL: 'warn',
    WA_RETRY_REQUEST_DELAY_MS: '0',
  })
  try {
    log('pairing the service with the stand-in')
    await waitFor(
      'a QR',
      async () => {
        const res = await fetch(`${child.url}/api/qr`).catch(() => undefined)
        if (res?.status !== 200) return undefined
        return standin.scanQr(await res.text()).catch(() => undefined)
      },
      60_000,
      200,
    )
    await waitFor('logged in', async () => ((await (await fetch(`${child.url}/api/status`)).json()) as { loggedIn: boolean }).loggedIn || undefined, 60_000, 100)
    const set = await fetch(`${child.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiverUrl }) })
    if (!set.ok) throw new Error(`setting the webhook failed: ${set.status}`)
    return { child, command: [...Object.entries(start.env).map(([k, v]) => `${k}=${v}`), 'node', ...args].join(' ') }
  } catch (error) {
    await child.stop()
    throw error
  }
}

// ---- the floor ------------------------------------------------------------------------------------

interface Floor {
  process: ChildProcess
  messages: Array<Record<string, unknown>>
  next(predicate: (message: Record<string, unknown>) => boolean, timeoutMs: number): Promise<Record<string, unknown>>
  stop(): Promise<void>
}

async function startFloor(standin: StandIn, log: (line: string) => void): Promise<Floor> {
  const outfile = path.join(root, 'bench/out/storm-floor.mjs')
  mkdirSync(path.dirname(outfile), { recursive: true })
  await build({ absWorkingDir: root, entryPoints: ['bench/storm-floor.ts'], outfile, bundle: true, packages: 'external', platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' })
  const preload = await trustPreload()
  const start = await startCommand()
  const child = fork(outfile, [standin.url], {
    cwd: root,
    execArgv: [...start.args.slice(0, -1), '--import', preload],
    env: { ...process.env, ...start.env, WA_RETRY_REQUEST_DELAY_MS: '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const messages: Array<Record<string, unknown>> = []
  let read = 0
  child.on('message', (message) => messages.push(message as Record<string, unknown>))
  const floor: Floor = {
    process: child,
    messages,
    async next(predicate, timeoutMs) {
      return waitFor(
        'the floor process',
        () => {
          for (; read < messages.length; read++) if (predicate(messages[read]!)) return messages[read++]!
          if (child.exitCode !== null) throw new Error(`the floor process exited with ${child.exitCode}`)
          return undefined
        },
        timeoutMs,
        5,
      )
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
    },
  }
  try {
    log('pairing the floor (Baileys alone) with a second stand-in')
    const { qr } = (await floor.next((m) => 'qr' in m, 60_000)) as { qr: string }
    await standin.scanQr(qr)
    await floor.next((m) => 'open' in m, 60_000)
    await standin.waitForLogin()
    return floor
  } catch (error) {
    await floor.stop()
    throw error
  }
}

// ---- measuring ------------------------------------------------------------------------------------

interface Latencies {
  p50: number
  p99: number
  max: number
  count: number
}
const latencies = (values: number[]): Latencies => ({ p50: percentile(values, 50), p99: percentile(values, 99), max: values.length ? Math.max(...values) : Number.NaN, count: values.length })

interface StormResult {
  name: string
  messages: number
  /** Storm start to the last delivery at the receiver (burst), or to the last retry receipt (undecryptable). */
  seconds: number
  /** Storm start to the stand-in holding a receipt for every message. */
  receiptSeconds: number
  health: Latencies
  status: Latencies
  failures: string[]
  rssBefore: number
  rssPeak: number
  /** The service's own event-loop delay over the storm. */
  loop: Latencies
}

/** Rejects if the service ends: a storm waits minutes for what a dead service will never do. */
async function died(child: Child): Promise<never> {
  const how = await child.ended
  throw new Error(`the service ended (${how}) during the storm; its last output:\n${child.output().slice(-4000)}`)
}

async function stormOnService(
  name: string,
  watch: Watch,
  child: Child,
  dir: string,
  run: () => Promise<{ done: number; receipts: number; messages: number }>,
): Promise<StormResult> {
  await serviceLoopDelay(child, dir) // from now on
  const rssBefore = child.rss()
  const sampler = rssSampler(child)
  await watch.call('probe', { url: child.url, everyMs: PROBE_MS })
  const started = now()
  let outcome: { done: number; receipts: number; messages: number }
  try {
    const running = run()
    running.catch(() => {}) // if the service died, what still waits on it fails later, unheard
    outcome = await Promise.race([running, died(child)])
  } finally {
    // A second more of probes: a stall right at the end belongs to the storm.
    await sleep(1_000)
  }
  const probes = await watch.call<ProbeSamples>('stop')
  if (process.env.BENCH_STORM_TIMELINE) printTimeline(name, probes)
  const rssPeak = sampler.stop()
  const loop = await serviceLoopDelay(child, dir)
  if (PROFILE_DIR) {
    const extra = loop as { gapsUs?: unknown; windowUs?: unknown }
    writeFileSync(path.join(PROFILE_DIR, `gaps-${name.split(' ')[0]}.json`), JSON.stringify(extra.gapsUs ?? []))
    writeFileSync(path.join(PROFILE_DIR, `window-${name.split(' ')[0]}.json`), JSON.stringify(extra.windowUs ?? []))
  }
  if (process.env.BENCH_STORM_TIMELINE) {
    const gaps = (loop as Latencies & { gaps?: Array<[number, number]> }).gaps ?? []
    const arrivals = (loop as Latencies & { arrivals?: number[] }).arrivals ?? []
    const byBucket = new Map<number, number>()
    for (const at of arrivals) byBucket.set(Math.floor((at - started) / 500), (byBucket.get(Math.floor((at - started) / 500)) ?? 0) + 1)
    console.log(`  /health requests reaching the service per 500 ms, ${name}: ${[...byBucket].sort((a, b) => a[0] - b[0]).map(([b, n]) => `${(b / 2).toFixed(1)}s:${n}`).join(' ')}`)
    const answers = (loop as Latencies & { answers?: Array<[number, number]> }).answers ?? []
    const connections = (loop as Latencies & { connections?: number[] }).connections ?? []
    console.log(`  the service's slowest /health answers from reaching it: ${answers.map(([at, ms]) => `${ms} ms at ${((at - started) / 1000).toFixed(2)} s`).join('; ')}`)
    console.log(`  connections the service accepted: ${connections.length}, at ${connections.slice(0, 80).map((at) => ((at - started) / 1000).toFixed(2)).join(' ')}`)
    console.log(`  the service's longest event-loop gaps, ${name}: ${gaps.map(([end, ms]) => `${ms} ms ending at ${((end - started) / 1000).toFixed(2)} s`).join('; ')}`)
  }
  return {
    name,
    messages: outcome.messages,
    seconds: (outcome.done - started) / 1000,
    receiptSeconds: (outcome.receipts - started) / 1000,
    health: latencies(probes.health),
    status: latencies(probes.status),
    failures: [...new Set(probes.failures)].slice(0, 5),
    rssBefore,
    rssPeak,
    loop,
  }
}

/**
 * BENCH_STORM_TIMELINE=1: /health latency over the storm, per 500 ms of due time (max, and how many
 * probes), so that a stall can be placed (at the burst's arrival, during the deliveries, at the end).
 */
function printTimeline(name: string, probes: ProbeSamples): void {
  const bucketOf = (at: number) => Math.floor(at / 500)
  const buckets = new Map<number, number[]>()
  probes.healthAt.forEach((at, i) => buckets.set(bucketOf(at), [...(buckets.get(bucketOf(at)) ?? []), probes.health[i]!]))
  // How late the prober itself wrote its requests: a delay on the probing side, not the service's.
  const written = new Map<number, number>()
  for (const [at, lag] of probes.sentLag) written.set(bucketOf(at), Math.max(written.get(bucketOf(at)) ?? 0, lag))
  const rows = [...buckets]
    .sort((a, b) => a[0] - b[0])
    .map(([bucket, values]) => `${((bucket * 500) / 1000).toFixed(1)}s max ${Math.round(Math.max(...values))} ms (${values.length}), written up to ${Math.round(written.get(bucket) ?? 0)} ms late`)
  console.log(`  timeline of /health, ${name}:\n    ${rows.join('\n    ')}`)
  const first = probes.healthAt.map((at, i) => [at, probes.health[i]!] as const).filter(([at]) => at < 500).sort((a, b) => a[0] - b[0])
  console.log(`  /health in the first 500 ms, ${name} (due at: latency, ms): ${first.map(([at, ms]) => `${Math.round(at)}:${Math.round(ms)}`).join(' ')}`)
}

/** The service's own warn/error lines about webhook attempts, by deliveryId. */
function attemptFailures(output: string): Array<{ deliveryId: string; error: string }> {
  const failures: Array<{ deliveryId: string; error: string }> = []
  for (const line of output.split('\n')) {
    if (!line.startsWith('{') || !line.includes('deliveryId')) continue
    try {
      const entry = JSON.parse(line) as { deliveryId?: string; error?: string; msg?: string }
      if (entry.deliveryId && entry.error) failures.push({ deliveryId: entry.deliveryId, error: entry.error })
    } catch {
      // not a log line
    }
  }
  return failures
}

export async function runStorm(log: (line: string) => void): Promise<SectionResult> {
  const watch = new Watch()
  const { receiverUrl } = await watch.call<{ receiverUrl: string }>('init')
  const dir = tempDir('wsgo-storm-')
  const standin = await startStandIn()
  const floorStandin = await startStandIn()
  let service: { child: Child; command: string } | undefined
  let floor: Floor | undefined
  try {
    // -- the floor first, alone on the machine
    floor = await startFloor(floorStandin, log)
    const warm = await floorStandin.prepareBurst(SENDER, texts('floor-warm', 50))
    floor.process.send({ expect: 50, prefix: 'floor-warm ' })
    warm.deliver()
    await floor.next((m) => 'seen' in m, 60_000)
    log(`floor: encrypting ${BURST} messages, then handing them over at once`)
    const floorBurst = await floorStandin.prepareBurst(SENDER, texts('floor-burst', BURST))
    floor.process.send({ expect: BURST, prefix: 'floor-burst ' })
    const floorStarted = now()
    floorBurst.deliver()
    const { at: floorDone } = (await floor.next((m) => 'seen' in m, 300_000)) as { at: number }
    const floorReceipts = await receiptsFor(floorStandin, floorBurst.ids, 300_000)
    floor.process.send({ report: true })
    const { loop: floorBurstLoop } = (await floor.next((m) => 'loop' in m, 10_000)) as { loop: Latencies }
    log(`floor: ${BURST} messages in ${((floorDone - floorStarted) / 1000).toFixed(2)} s; now ${UNDECRYPTABLE} undecryptable`)
    floor.process.send({ expect: 0, prefix: '\u0000' })
    const floorUndecryptableStarted = now()
    const floorUndecryptableDone = await undecryptableStorm(floorStandin, UNDECRYPTABLE)
    floor.process.send({ report: true })
    const { loop: floorUndecryptableLoop } = (await floor.next((m) => 'loop' in m, 10_000)) as { loop: Latencies }
    await floor.stop()
    floor = undefined

    // -- the service
    service = await startService(standin, receiverUrl, dir, log)
    const { child } = service
    const warmIds: string[] = []
    for (let i = 0; i < 50; i++) warmIds.push(await standin.sendText(SENDER, `warm-up ${i}`))
    await waitFor('the warm-up deliveries', async () => ((await watch.call<{ messages: number }>('count')).messages >= warmIds.length ? true : undefined), 60_000, 50)
    const delivered = async () => (await watch.call<{ messages: number }>('count')).messages

    log(`service: encrypting ${BURST} messages, then handing them over at once`)
    const burst = await standin.prepareBurst(SENDER, texts('storm', BURST))
    const before = await delivered()
    const burstResult = await stormOnService('burst', watch, child, dir, async () => {
      burst.deliver()
      const receipts = receiptsFor(standin, burst.ids, 600_000)
      const done = await waitFor(`${BURST} deliveries`, async () => ((await delivered()) >= before + BURST ? now() : undefined), 600_000, 20)
      return { done, receipts: await receipts, messages: BURST }
    })
    log(`service: burst delivered in ${burstResult.seconds.toFixed(2)} s; /health p99 ${fmt(burstResult.health.p99)} ms, max ${fmt(burstResult.health.max)} ms; now ${UNDECRYPTABLE} undecryptable`)

    const undecryptableResult = await stormOnService('undecryptable', watch, child, dir, async () => {
      const done = await undecryptableStorm(standin, UNDECRYPTABLE)
      // Still itself afterwards: a message sent now is delivered.
      const after = await delivered()
      await standin.sendText(SENDER, 'after the storm')
      await waitFor('the message after the storm', async () => ((await delivered()) > after ? true : undefined), 120_000, 50)
      return { done, receipts: done, messages: UNDECRYPTABLE }
    })
    log(`service: undecryptable storm answered in ${undecryptableResult.seconds.toFixed(2)} s; /health p99 ${fmt(undecryptableResult.health.p99)} ms, max ${fmt(undecryptableResult.health.max)} ms`)

    // -- what the receiver saw against what the service says it did
    await sleep(500)
    const received = await watch.call<{ requests: number; deliveries: ReceivedDelivery[] }>('receiver')
    const byId = new Map(received.deliveries.map((d) => [d.deliveryId, d]))
    const duplicates = received.deliveries.filter((d) => d.arrivals.length > 1)
    const failures = attemptFailures(child.output())
    const timedOut = failures.filter((f) => /timed out/.test(f.error))
    // Answered in time: the receiver had the request and answered it within the timeout (it answers at once).
    const answeredInTime = timedOut.filter((f) => byId.get(f.deliveryId)?.answeredMs.some((ms) => ms < TIMEOUT_MS))
    const counts = (await (await fetch(`${child.url}/api/webhook`)).json()) as { pending: number; delivered: number; failed: number }

    const floorRate = BURST / ((floorDone - floorStarted) / 1000)
    const serviceRate = BURST / burstResult.seconds
    const ratio = serviceRate / floorRate
    const floorUndecryptableRate = UNDECRYPTABLE / ((floorUndecryptableDone - floorUndecryptableStarted) / 1000)
    const undecryptableRate = UNDECRYPTABLE / undecryptableResult.seconds
    const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`
    const storms = [burstResult, undecryptableResult]

    const checks: Check[] = [
      ...storms.flatMap((s): Check[] => [
        { what: `/health p99 during the ${s.name === 'burst' ? `burst of ${BURST}` : `${UNDECRYPTABLE} undecryptable`}`, value: `${fmt(s.health.p99)} ms`, target: '< 100 ms', ok: s.health.p99 < 100 && s.failures.length === 0 },
        { what: `/health max during the ${s.name === 'burst' ? `burst of ${BURST}` : `${UNDECRYPTABLE} undecryptable`}`, value: `${fmt(s.health.max)} ms`, target: '< 500 ms', ok: s.health.max < 500 && s.failures.length === 0 },
        { what: `peak RSS growth during the ${s.name === 'burst' ? 'burst' : 'undecryptable storm'}`, value: mb(s.rssPeak - s.rssBefore), target: '< 100 MB', ok: s.rssPeak - s.rssBefore < 100 * 1024 * 1024 },
      ]),
      { what: 'deliveries timed out that the receiver answered in time', value: String(answeredInTime.length), target: '0', ok: answeredInTime.length === 0 },
      { what: 'duplicate deliveries (an X-Wsgo-Delivery received twice)', value: String(duplicates.length), target: '0', ok: duplicates.length === 0 },
      { what: `burst throughput vs Baileys alone (${fmt(serviceRate)} vs ${fmt(floorRate)} messages/s)`, value: ratio.toFixed(2), target: '>= 0.50', ok: ratio >= 0.5 },
    ]
    const row = (s: StormResult) => [
      s.name === 'burst' ? `${BURST} messages at once` : `${UNDECRYPTABLE} undecryptable, ${BATCH} per batch`,
      `${s.health.p50.toFixed(1)} / ${s.health.p99.toFixed(1)} / ${s.health.max.toFixed(0)}`,
      `${s.status.p50.toFixed(1)} / ${s.status.p99.toFixed(1)} / ${s.status.max.toFixed(0)}`,
      `${s.loop.p50.toFixed(1)} / ${s.loop.p99.toFixed(1)} / ${s.loop.max.toFixed(0)}`,
      String(s.health.count + s.status.count),
      `${mb(s.rssBefore)} -> ${mb(s.rssPeak)} (+${mb(s.rssPeak - s.rssBefore)})`,
      s.failures.length ? s.failures.join('; ') : 'none',
    ]
    return {
      tables: [
        {
          title: 'The API during the storms: probe latency in ms (p50 / p99 / max), service as `npm start` runs it (SQLite)',
          columns: ['storm', '/health', '/api/status', "service's event-loop delay", 'probes', 'RSS before -> peak', 'failed probes'],
          rows: storms.map(row),
          notes: [
            `Probes: GET /health every ${PROBE_MS} ms and GET /api/status every ${PROBE_MS * 4} ms, open-loop (sent on a timetable whether or not earlier ones were answered, each timed from when it was due), keep-alive connections, from a worker thread of the bench process; from the storm's start until 1 s after its end. The service's event-loop delay is measured inside it (bench/storm-loop.mjs, preloaded by the bench only; monitorEventLoopDelay, 10 ms resolution): its long tasks, and the time the machine did not run it.`,
          ],
        },
        {
          title: "Baileys alone in the same storms: its process's event-loop delay in ms (p50 / p99 / max)",
          columns: ['storm', 'event-loop delay'],
          rows: [
            [`${BURST} messages at once`, `${floorBurstLoop.p50.toFixed(1)} / ${floorBurstLoop.p99.toFixed(1)} / ${floorBurstLoop.max.toFixed(0)}`],
            [`${UNDECRYPTABLE} undecryptable, ${BATCH} per batch`, `${floorUndecryptableLoop.p50.toFixed(1)} / ${floorUndecryptableLoop.p99.toFixed(1)} / ${floorUndecryptableLoop.max.toFixed(0)}`],
          ],
          notes: [
            'perf_hooks.monitorEventLoopDelay (10 ms resolution) in the floor process (bench/storm-floor.ts), over each storm: how long Baileys by itself keeps other work (an HTTP request, a timer) waiting. A /health answer in the service cannot come sooner than this.',
          ],
        },
        {
          title: 'Throughput against Baileys alone (the same messages, the same node flags, its own process, keys in memory)',
          columns: ['what', 'to the last delivery / upsert', 'to the last receipt', 'messages/s', 'vs floor'],
          rows: [
            [`floor: Baileys alone, ${BURST} messages (to its last messages.upsert)`, `${((floorDone - floorStarted) / 1000).toFixed(2)} s`, `${((floorReceipts - floorStarted) / 1000).toFixed(2)} s`, fmt(floorRate), '1.00'],
            [`service: ${BURST} messages, to the last webhook delivery`, `${burstResult.seconds.toFixed(2)} s`, `${burstResult.receiptSeconds.toFixed(2)} s`, fmt(serviceRate), ratio.toFixed(2)],
            [`floor: Baileys alone, ${UNDECRYPTABLE} undecryptable (to the last retry receipt)`, '', `${((floorUndecryptableDone - floorUndecryptableStarted) / 1000).toFixed(2)} s`, fmt(floorUndecryptableRate), '1.00'],
            [`service: ${UNDECRYPTABLE} undecryptable`, '', `${undecryptableResult.seconds.toFixed(2)} s`, fmt(undecryptableRate), (undecryptableRate / floorUndecryptableRate).toFixed(2)],
          ],
          notes: [
            `The burst is encrypted by the stand-in before the clock starts and handed over in one go; timed from then to the receiver having the last delivery (service) or Baileys emitting the last messages.upsert (floor). The undecryptable ones go in batches of ${BATCH}, each after the retry receipt of the previous batch's last message. WA_RETRY_REQUEST_DELAY_MS=0 for both (see bench/storm.ts).`,
          ],
        },
        {
          title: 'Webhook deliveries during the storms (receiver answering 200 at once)',
          columns: ['requests received', 'distinct deliveries', 'received more than once', 'attempts the service logged as failed', 'of which timed out', 'timed out though answered in time', 'outbox pending / delivered / failed after'],
          rows: [
            [
              String(received.requests),
              String(received.deliveries.length),
              String(duplicates.length),
              String(failures.length),
              String(timedOut.length),
              String(answeredInTime.length),
              `${counts.pending} / ${counts.delivered} / ${counts.failed}`,
            ],
          ],
        },
      ],
      checks,
      notes: [`Service command: \`${service.command}\` with DATABASE_URL on a fresh SQLite file, LOG_LEVEL=warn, WA_RETRY_REQUEST_DELAY_MS=0, other settings at their defaults (WEBHOOK_TIMEOUT_MS=${TIMEOUT_MS}, WEBHOOK_CONCURRENCY=8).`],
    }
  } finally {
    await floor?.stop()
    await service?.child.stop()
    if (LOG_FILE && service) writeFileSync(LOG_FILE, service.child.output())
    await standin.close()
    await floorStandin.close()
    await watch.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

