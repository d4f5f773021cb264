// Memory: the service's resident set size in its own process, run as `npm start` runs it (the dist/
// bundle on plain node, with package.json's flags; unpaired: /health and /api/status need no
// WhatsApp), idle after start, after 100,000 requests, after 30,000 more and once idle again, beside
// the bare floor server under the same load; the idle size from the sources under tsx (`npm run
// dev`) for comparison. The load generator runs in this process, so its memory is not counted. After
// each RSS reading under load, a full garbage collection is forced in the child through its
// inspector: what is still reachable then tells a leak (live heap growing) from a heap that grew and
// stays allocated (RSS up, live heap flat).
import { rmSync } from 'node:fs'
import path from 'node:path'
import { tempDir } from '../tests/support/service.js'
import { LoadGenerator, type RequestSpec } from './load.js'
import { bareCommand, serviceCommand, startChild, startCommand, type Child } from './processes.js'
import { fmt, type SectionResult } from './report.js'
import { settings } from './settings.js'
import { sleep } from './stats.js'

const REQUESTS = 100_000
const MORE = 30_000
/** How long after the load the last reading waits: V8's memory reducer shrinks an idle heap after several seconds. */
const SETTLE_MS = 20_000
const MB = 1024 * 1024

interface Point {
  rss: number
  /** heapUsed right after a forced full collection (not taken at idle: it would reset V8's heap sizing). */
  live: number
}

interface Trace {
  idle: Point
  first: Point
  second: Point
  /** RSS SETTLE_MS after the last load, when asked for. */
  settled: number | undefined
  rps: number[]
}

async function point(child: Child, collect = true): Promise<Point> {
  await sleep(2000)
  const rss = child.rss()
  if (!collect) return { rss, live: Number.NaN }
  const usage = await child.collect()
  return { rss, live: usage.heapUsed }
}

async function trace(child: Child, load: LoadGenerator, requests: RequestSpec[], log: (line: string) => void, name: string, settle = false): Promise<Trace> {
  await sleep(1000) // let start-up settle (point() waits 2 s more)
  const idle = await point(child, false)
  const rps: number[] = []
  log(`${name}: ${REQUESTS} requests`)
  rps.push((await load.runOk(`${name} load`, { url: child.url, requests, connections: settings.connections, amount: REQUESTS })).rps)
  const first = await point(child)
  log(`${name}: ${MORE} more`)
  rps.push((await load.runOk(`${name} load`, { url: child.url, requests, connections: settings.connections, amount: MORE })).rps)
  const second = await point(child)
  if (!settle) return { idle, first, second, settled: undefined, rps }
  log(`${name}: idle for ${SETTLE_MS / 1000} s`)
  await sleep(SETTLE_MS)
  return { idle, first, second, settled: child.rss(), rps }
}

/** RSS 3 s after start, without the inspector (which adds its own few MB). */
async function idleRss(args: string[], env: Record<string, string>): Promise<number> {
  const child = await startChild(args, env)
  try {
    await sleep(3000)
    return child.rss()
  } finally {
    await child.stop()
  }
}

export async function runMemory(log: (line: string) => void): Promise<SectionResult> {
  const load = new LoadGenerator()
  const dir = tempDir('wsgo-bench-')
  let child: Child | undefined
  try {
    log('building dist/ (npm run build)')
    const start = await startCommand()
    const database = { DATABASE_URL: `file:${path.join(dir, 'wsgo.db')}` }
    const built = { ...start.env, ...database }
    log('first start on an empty SQLite file (migrations applied; not measured)')
    await idleRss(start.args, built)
    log('idle RSS without the inspector: bare floor server, service (npm start), service (tsx)')
    const bareIdle = await idleRss(bareCommand(false), {})
    const serviceIdle = await idleRss(start.args, built)
    const devIdle = await idleRss(serviceCommand(), database)
    log('bare floor server (plain node)')
    child = await startChild(bareCommand(false), {}, { inspect: true })
    const bare = await trace(child, load, [{ path: '/health' }, { path: '/api/status' }], log, 'bare')
    await child.stop()

    log('service (npm start), unpaired, SQLite')
    child = await startChild(start.args, built, { inspect: true })
    const mix: RequestSpec[] = [
      { path: '/api/status' },
      { path: '/health' },
      { path: '/trpc/session.status?batch=1&input=%7B%7D' },
      { path: '/api/events?limit=10' },
    ]
    const service = await trace(child, load, mix, log, 'service', true)
    await child.stop()
    child = undefined

    const change = (from: number, to: number) => (to - from) / from
    const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`
    const rssRow = (label: string, t: Trace, idle: number, floorIdle: number) => [
      label,
      mb(idle),
      (idle / floorIdle).toFixed(2),
      mb(t.idle.rss),
      `${mb(t.first.rss)} (${pct(change(t.idle.rss, t.first.rss))})`,
      `${mb(t.second.rss)} (${pct(change(t.first.rss, t.second.rss))})`,
      t.settled === undefined ? '' : `${mb(t.settled)} (${pct(change(t.idle.rss, t.settled))} vs idle)`,
      t.rps.map((r) => fmt(r)).join(', '),
    ]
    const liveRow = (label: string, t: Trace) => [label, mb(t.first.live), `${mb(t.second.live)} (${pct(change(t.first.live, t.second.live))})`]
    const rssGrowth = change(service.idle.rss, service.first.rss)
    const liveGrowth = change(service.first.live, service.second.live)
    return {
      tables: [
        {
          title: 'Resident set size of the process serving the requests (read from /proc, 2 s after the load)',
          columns: [
            'process',
            'idle',
            'idle / floor',
            'idle, inspector on',
            `after ${REQUESTS / 1000}k (vs idle)`,
            `after ${MORE / 1000}k more (vs ${REQUESTS / 1000}k)`,
            `${SETTLE_MS / 1000} s later`,
            'req/s (each load)',
          ],
          rows: [
            rssRow('bare Node http server (floor)', bare, bareIdle, bareIdle),
            rssRow('service as `npm start` runs it (SQLite, unpaired)', service, serviceIdle, bareIdle),
            ['service from the sources, `npm run dev` (tsx), idle only', mb(devIdle), (devIdle / bareIdle).toFixed(2), '', '', '', '', ''],
          ],
          notes: [
            `Requests: ${settings.connections} connections cycling GET /api/status, GET /health, tRPC session.status, GET /api/events?limit=10 (service) or GET /health, GET /api/status (floor).`,
            `\`npm start\` is \`${start.text}\`; the bench runs that command without npm and its shell. Idle is read 3 s after /health answers, on a database migrated by an earlier start.`,
            `The "${SETTLE_MS / 1000} s later" reading comes that long after the last load (and the forced collections below): V8 shrinks a heap that has gone idle.`,
          ],
        },
        {
          title: 'Live JavaScript heap right after a forced full collection (heapUsed, through the inspector)',
          columns: ['process', `after ${REQUESTS / 1000}k`, `after ${MORE / 1000}k more (vs ${REQUESTS / 1000}k)`],
          rows: [liveRow('bare Node http server (floor)', bare), liveRow('service as `npm start` runs it (SQLite, unpaired)', service)],
          notes: [
            'The loaded children run with --inspect=127.0.0.1:0 so that the bench can collect garbage in them (nothing connects until a reading); the first "idle" column is a separate start without it.',
            `No collection is forced before the first ${REQUESTS / 1000}k (it would reset V8's heap sizing and flatter the RSS growth); a leak shows as live heap growing over the last ${MORE / 1000}k.`,
          ],
        },
      ],
      checks: [
        { what: 'idle RSS of the service (`npm start`)', value: mb(serviceIdle), target: '< 150 MB', ok: serviceIdle < 150 * MB },
        { what: `RSS growth after ${REQUESTS / 1000}k requests`, value: pct(rssGrowth), target: '<= +10 %', ok: rssGrowth <= 0.1 },
        { what: `live heap after full GC, ${REQUESTS / 1000}k -> ${(REQUESTS + MORE) / 1000}k requests (leak check)`, value: pct(liveGrowth), target: '<= +5 %', ok: liveGrowth <= 0.05 },
      ],
      notes: [],
    }
  } finally {
    await child?.stop()
    await load.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
