// Sessions: many WhatsApp accounts in one service process, and sessions failing over between processes.
//
// Every service process runs as deployed: `npm start`'s node command (dist/ bundle, package.json's
// flags), one process each, talking to a stand-in fleet (tests/standin/fleet.ts) in this process:
// one stand-in account per session at ws://127.0.0.1:<port>/{session}/ws/chat, given as WA_WS_URL.
// The only addition is a preload that makes the child's Baileys trust the stand-in's test root:
// tests/standin/trust-test-root.ts bundled with esbuild into bench/out/ (plain JavaScript, so the
// service process runs without tsx).
//
// 1. One process, SQLite: 1, 10, 50, 100 paired sessions (`default` and s001, s002, ...), paired
//    through the API in concurrent batches. For each count: RSS once all are paired and idle (after a
//    settle period, median of a few /proc readings), then SIGTERM, a new process on the same
//    database, the time from its spawn until GET /api/sessions shows every session loggedIn, and its
//    RSS once idle (plus its heap after a forced collection, through the inspector).
// 2. Three processes on PostgreSQL sharing 12 sessions: SIGKILL the one owning the most, time until
//    every session is loggedIn again with a live owner; a fresh process takes the victim's place
//    (and its share) before the next round. Then the same with the production default
//    WA_LEASE_TTL_MS=15000 (all processes restarted with it), for fewer rounds.
//
// Knobs: BENCH_SESSION_COUNTS (1,10,50,100), BENCH_PAIR_BATCH (10), BENCH_SESSIONS_SETTLE_MS (10000),
// BENCH_FAILOVER_SESSIONS (12), BENCH_LEASE_TTL_MS (5000), BENCH_FAILOVERS (3),
// BENCH_FAILOVERS_PRODUCTION_TTL (2; 0 skips them), BENCH_SESSIONS_LOG_LEVEL (warn) and
// BENCH_SESSIONS_LOGS=<dir> (each service process's whole output written there).
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { build } from 'esbuild'
import pg from 'pg'
import { startStandInFleet, type StandInFleet } from '../tests/standin/index.js'
import { startTestPostgres, type TestPostgres } from '../tests/support/postgres.js'
import { tempDir } from '../tests/support/service.js'
import { root, startChild, startCommand, type Child } from './processes.js'
import { fmt, type SectionResult } from './report.js'
import { median, sleep } from './stats.js'

const MB = 1024 * 1024
const KEY = 'bench-admin-key'
const list = (name: string, fallback: string) =>
  (process.env[name] ?? fallback)
    .split(',')
    .map((v) => Number(v.trim()))
    .filter((v) => Number.isInteger(v) && v > 0)
const number = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number`)
  return value
}

/** Session counts of part 1 (ascending; the first is the baseline). */
const COUNTS = [...new Set(list('BENCH_SESSION_COUNTS', '1,10,50,100'))].sort((a, b) => a - b)
/** Sessions paired at once (created, QR read, scanned) in part 1. */
const PAIR_BATCH = number('BENCH_PAIR_BATCH', 10)
/** Idle time before the RSS readings, after the last session logged in. */
const SETTLE_MS = number('BENCH_SESSIONS_SETTLE_MS', 10_000)
const RSS_SAMPLES = 5
const RSS_EVERY_MS = 1000
const FAILOVER_SESSIONS = number('BENCH_FAILOVER_SESSIONS', 12)
const FAILOVER_PROCESSES = 3
const FAILOVER_ROUNDS = number('BENCH_FAILOVERS', 3)
const LEASE_TTL_MS = number('BENCH_LEASE_TTL_MS', 5000)
/** Rounds also run at the production default WA_LEASE_TTL_MS (0: none). */
const PRODUCTION_TTL_MS = 15_000
const PRODUCTION_TTL_ROUNDS = Number(process.env.BENCH_FAILOVERS_PRODUCTION_TTL ?? 2)

const TARGET_PER_SESSION_MB = 10
const TARGET_RESTART_SESSIONS = 100
const TARGET_RESTART_MS = 30_000
const POLL_MS = 100

interface Summary {
  name: string
  state: string
  loggedIn: boolean
  owner: string | null
}

async function call(url: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${route}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'x-api-key': KEY, ...(body !== undefined && { 'content-type': 'application/json' }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(30_000),
  })
  const text = await res.text()
  return { status: res.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text }
}

/** Every session as GET /api/sessions pages through them (100 at a time). */
async function sessionsOf(url: string): Promise<Summary[]> {
  const all: Summary[] = []
  let after: string | null = null
  do {
    const page = await call(url, `/api/sessions?limit=100${after ? `&after=${encodeURIComponent(after)}` : ''}`)
    if (page.status !== 200) throw new Error(`GET /api/sessions: ${page.status} ${JSON.stringify(page.body)}`)
    all.push(...(page.body.sessions as Summary[]))
    after = page.body.next as string | null
  } while (after)
  return all
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number, everyMs = POLL_MS): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe().catch(() => undefined)
    if (value !== undefined) return value
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(everyMs)
  }
}

const sessionName = (i: number) => (i === 0 ? 'default' : `s${String(i).padStart(3, '0')}`)
const prefix = (name: string) => (name === 'default' ? '/api' : `/api/sessions/${name}`)

/** CPU seconds (user + system) the process has used, from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(spawnSync('getconf', ['CLK_TCK']).stdout?.toString().trim() || 100)
  return (Number(fields[11]) + Number(fields[12])) / ticks
}

async function rssMedian(child: Child): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < RSS_SAMPLES; i++) {
    if (i > 0) await sleep(RSS_EVERY_MS)
    samples.push(child.rss())
  }
  return median(samples)
}

/** The child's Baileys must trust the stand-in: its test root as plain JavaScript, preloaded. */
export async function trustPreload(): Promise<string> {
  const outfile = path.join(root, 'bench/out/trust-test-root.mjs')
  mkdirSync(path.dirname(outfile), { recursive: true })
  await build({
    absWorkingDir: root,
    entryPoints: ['tests/standin/trust-test-root.ts'],
    outfile,
    bundle: true,
    packages: 'external',
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  })
  return `./${path.relative(root, outfile)}`
}

interface Command {
  args: string[]
  env: Record<string, string>
  text: string
}

async function serviceCommand(): Promise<Command> {
  const start = await startCommand()
  const preload = await trustPreload()
  return { args: [...start.args.slice(0, -1), '--import', preload, start.args.at(-1)!], env: start.env, text: start.text }
}

function killHard(child: Child): Promise<void> {
  try {
    process.kill(child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
  return child.stop()
}

/** The service's own warnings and errors (pino JSON lines), counted by message. */
const logLines = new Map<string, number>()
/** BENCH_SESSIONS_LOGS=<dir>: each service process's whole output is written there too. */
const LOG_DIR = process.env.BENCH_SESSIONS_LOGS
/** The service processes' LOG_LEVEL (warn unless set; only warnings and errors are counted). */
const LOG_LEVEL = process.env.BENCH_SESSIONS_LOG_LEVEL ?? 'warn'
function collectLog(child: Child, where: string): void {
  if (LOG_DIR) {
    mkdirSync(LOG_DIR, { recursive: true })
    writeFileSync(path.join(LOG_DIR, `${where.replace(/[^a-zA-Z0-9]+/g, '-')}-${child.pid}.log`), child.output())
  }
  for (const line of child.output().split('\n')) {
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { message?: string }; url?: string; status?: number }
      if ((entry.level ?? 0) < 40) continue
      const detail = [entry.status, entry.url?.split('?')[0], entry.err?.message?.slice(0, 120)].filter((d) => d !== undefined).join(' ')
      const key = `${where}: ${entry.level! >= 50 ? 'error' : 'warn'} "${entry.msg ?? ''}"${detail ? ` (${detail})` : ''}`
      logLines.set(key, (logLines.get(key) ?? 0) + 1)
    } catch {
      // not a log line
    }
  }
}

/**
 * Reads a session's QR through `url` and has its stand-in's phone scan it. A session that is not
 * paired yet can still change hands (processes joining share the sessions out, paired or not): the
 * QR read may belong to a socket that has just been closed, so a refused scan is tried again.
 */
async function pairSession(fleet: StandInFleet, name: string, url: () => string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const qr = await waitFor(`a QR for ${name}`, async () => {
      const res = await fetch(`${url()}${prefix(name)}/qr`, { headers: { 'x-api-key': KEY } })
      return res.status === 200 ? res.text() : undefined
    }, 60_000)
    try {
      await fleet.get(name)!.scanQr(qr, { pushName: name, platform: 'smba' })
      return
    } catch (error) {
      if (attempt >= 20) throw error
      await sleep(250)
    }
  }
}

// ---- part 1: many sessions in one process -------------------------------------------------------

interface CountResult {
  sessions: number
  pairSeconds: number
  rssPaired: number
  stopMs: number
  healthMs: number
  connectedMs: number
  restartCpu: number
  rssRestarted: number
  /** process.memoryUsage() right after a forced full collection, after the RSS readings. */
  heapPaired: NodeJS.MemoryUsage
  heapRestarted: NodeJS.MemoryUsage
}

/** Creates sessions from..to-1 (0 is `default`, which exists), shows each one's QR to its stand-in, and waits for all to log in. */
async function pairRange(child: Child, fleet: StandInFleet, from: number, to: number): Promise<void> {
  const pairOne = async (i: number) => {
    const name = sessionName(i)
    if (!fleet.get(name)) await fleet.add(name)
    if (i > 0) {
      const created = await call(child.url, '/api/sessions', { name })
      if (created.status !== 200) throw new Error(`POST /api/sessions ${name}: ${created.status} ${JSON.stringify(created.body)}`)
    }
    await pairSession(fleet, name, () => child.url)
  }
  for (let start = from; start < to; start += PAIR_BATCH) {
    const batch = Array.from({ length: Math.min(PAIR_BATCH, to - start) }, (_, k) => start + k)
    await Promise.all(batch.map(pairOne))
  }
  await waitFor(`all ${to} sessions logged in`, async () => {
    const seen = await sessionsOf(child.url)
    return seen.length === to && seen.every((s) => s.loggedIn) ? seen : undefined
  }, 120_000, 250)
}

async function manySessions(command: Command, log: (line: string) => void): Promise<CountResult[]> {
  const dir = tempDir('wsgo-bench-sessions-')
  const fleet = await startStandInFleet()
  let child: Child | undefined
  const results: CountResult[] = []
  try {
    const env = { ...command.env, DATABASE_URL: `file:${path.join(dir, 'wsgo.db')}`, WA_WS_URL: fleet.urlTemplate, API_KEY: KEY, LOG_LEVEL }
    await fleet.add('default')
    log('first start on an empty SQLite file (migrations applied), then a second start to pair in')
    child = await startChild(command.args, env)
    await child.stop()
    collectLog(child, 'SQLite')
    child = await startChild(command.args, env, { inspect: true })
    let paired = 0
    for (const count of COUNTS) {
      log(`${count} session(s): pairing ${count - paired} in batches of ${PAIR_BATCH}`)
      const t0 = performance.now()
      await pairRange(child, fleet, paired, count)
      const pairSeconds = (performance.now() - t0) / 1000
      paired = count
      log(`${count}: paired in ${pairSeconds.toFixed(1)} s; idle ${SETTLE_MS / 1000} s, then RSS`)
      await sleep(SETTLE_MS)
      const rssPaired = await rssMedian(child)
      const heapPaired = await child.collect()

      log(`${count}: SIGTERM, restart on the same database`)
      const s0 = performance.now()
      await child.stop()
      const stopMs = performance.now() - s0
      collectLog(child, 'SQLite')
      child = undefined
      const spawnedAt = performance.now()
      child = await startChild(command.args, env, { inspect: true })
      const healthMs = child.readyMs
      const current = child
      await waitFor(`all ${count} sessions logged in after the restart`, async () => {
        const seen = await sessionsOf(current.url)
        return seen.length === count && seen.every((s) => s.loggedIn) ? seen : undefined
      }, 120_000)
      const connectedMs = performance.now() - spawnedAt
      const restartCpu = cpuSeconds(child.pid)
      log(`${count}: all logged in ${(connectedMs / 1000).toFixed(2)} s after spawn (/health at ${(healthMs / 1000).toFixed(2)} s); idle ${SETTLE_MS / 1000} s, then RSS`)
      await sleep(SETTLE_MS)
      const rssRestarted = await rssMedian(child)
      const heapRestarted = await child.collect()
      results.push({ sessions: count, pairSeconds, rssPaired, stopMs, healthMs, connectedMs, restartCpu, rssRestarted, heapPaired, heapRestarted })
      log(
        `${count}: RSS ${(rssPaired / MB).toFixed(1)} MB after pairing, ${(rssRestarted / MB).toFixed(1)} MB after the restart; heap used after GC ${(heapPaired.heapUsed / MB).toFixed(1)} / ${(heapRestarted.heapUsed / MB).toFixed(1)} MB`,
      )
    }
    return results
  } finally {
    if (child) {
      await child.stop()
      collectLog(child, 'SQLite')
    }
    await fleet.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

// ---- part 2: failover between processes on PostgreSQL --------------------------------------------

interface FailoverRound {
  ttlMs: number
  victimOwned: number
  /** From the kill to the latest expiry of the killed process's leases (read from the database). */
  leaseLeftMs: number
  /** From the kill until a survivor no longer showed the killed process as the owner of any of its sessions. */
  orphanMs: number
  /** From the kill until every session showed loggedIn with a live owner. */
  failoverMs: number
}

async function failover(command: Command, log: (line: string) => void): Promise<{ rounds: FailoverRound[]; skipped?: string }> {
  const started = await startTestPostgres()
  if ('skipped' in started) return { rounds: [], skipped: started.skipped }
  const postgres: TestPostgres = started
  const fleet = await startStandInFleet()
  const children: Child[] = []
  const rounds: FailoverRound[] = []
  let database: pg.Client | undefined
  try {
    const url = await postgres.createDatabase()
    database = new pg.Client({ connectionString: url })
    await database.connect()
    const db = database
    const base = { ...command.env, DATABASE_URL: url, WA_WS_URL: fleet.urlTemplate, API_KEY: KEY, LOG_LEVEL }
    const names = Array.from({ length: FAILOVER_SESSIONS }, (_, i) => sessionName(i))
    for (const name of names) await fleet.add(name)
    const nodeOf = (owner: string | null) => (owner === null ? undefined : children.find((c) => owner.includes(`:${c.pid}:`)))
    const even = Math.ceil(FAILOVER_SESSIONS / FAILOVER_PROCESSES)
    const balanced = (via: Child) =>
      waitFor('every session logged in, spread evenly over the live processes', async () => {
        const seen = await sessionsOf(via.url)
        if (seen.length !== FAILOVER_SESSIONS || !seen.every((s) => s.loggedIn && nodeOf(s.owner))) return undefined
        const spread = new Map<string, number>()
        for (const s of seen) spread.set(s.owner!, (spread.get(s.owner!) ?? 0) + 1)
        return spread.size === children.length && [...spread.values()].every((n) => n <= even) ? seen : undefined
      }, 120_000)

    const runRounds = async (ttlMs: number, count: number) => {
      const env = { ...base, WA_LEASE_TTL_MS: String(ttlMs) }
      while (children.length < FAILOVER_PROCESSES) children.push(await startChild(command.args, env))
      for (let round = 1; round <= count; round++) {
        const seen = await balanced(children[0]!)
        await sleep(2000)
        const owned = new Map<Child, number>()
        for (const s of seen) owned.set(nodeOf(s.owner)!, (owned.get(nodeOf(s.owner)!) ?? 0) + 1)
        const [victim, victimOwned] = [...owned].sort((a, b) => b[1] - a[1])[0]!
        const victimNode = `:${victim.pid}:`
        const victimSessions = new Set(seen.filter((s) => s.owner!.includes(victimNode)).map((s) => s.name))
        const via = children.find((c) => c !== victim)!
        log(`WA_LEASE_TTL_MS=${ttlMs}, round ${round}: SIGKILL pid ${victim.pid} (owns ${victimOwned})`)
        const killedAt = performance.now()
        const killedAtEpoch = Date.now()
        await killHard(victim)
        children.splice(children.indexOf(victim), 1)
        collectLog(victim, `PostgreSQL, killed (TTL ${ttlMs})`)
        const leases = await db.query<{ until: string }>(
          `SELECT max(EXTRACT(EPOCH FROM "expiresAt") * 1000) AS until FROM "Lease" WHERE owner LIKE $1`,
          [`%${victimNode}%`],
        )
        const leaseLeftMs = Number(leases.rows[0]?.until) - killedAtEpoch
        let orphanMs = Number.NaN
        await waitFor('every session logged in with a live owner', async () => {
          const now = await sessionsOf(via.url)
          if (Number.isNaN(orphanMs) && now.filter((s) => victimSessions.has(s.name)).every((s) => !s.owner?.includes(victimNode))) orphanMs = performance.now() - killedAt
          return now.length === FAILOVER_SESSIONS && now.every((s) => s.loggedIn && nodeOf(s.owner) !== undefined) ? now : undefined
        }, 120_000)
        const failoverMs = performance.now() - killedAt
        rounds.push({ ttlMs, victimOwned, leaseLeftMs, orphanMs, failoverMs })
        log(`round ${round}: every session logged in with a live owner ${(failoverMs / 1000).toFixed(2)} s after the kill (its leases had ${(leaseLeftMs / 1000).toFixed(2)} s left)`)
        // a new process takes the victim's place (and its share, by handover) for the next round
        if (round < count) children.push(await startChild(command.args, env))
      }
    }

    log(`${FAILOVER_PROCESSES} processes on PostgreSQL (WA_LEASE_TTL_MS=${LEASE_TTL_MS}); pairing ${FAILOVER_SESSIONS} sessions`)
    const env = { ...base, WA_LEASE_TTL_MS: String(LEASE_TTL_MS) }
    for (let i = 0; i < FAILOVER_PROCESSES; i++) children.push(await startChild(command.args, env))
    for (const name of names.slice(1)) {
      const created = await call(children[0]!.url, '/api/sessions', { name })
      if (created.status !== 200) throw new Error(`POST /api/sessions ${name}: ${created.status} ${JSON.stringify(created.body)}`)
    }
    await Promise.all(
      // each QR read through another process than the one that made the session (forwarded to the owner)
      names.map((name, i) => pairSession(fleet, name, () => children[i % children.length]!.url)),
    )
    await runRounds(LEASE_TTL_MS, FAILOVER_ROUNDS)
    if (PRODUCTION_TTL_ROUNDS > 0 && PRODUCTION_TTL_MS !== LEASE_TTL_MS) {
      log(`every process stopped (SIGTERM); ${FAILOVER_PROCESSES} new ones with the production default WA_LEASE_TTL_MS=${PRODUCTION_TTL_MS}`)
      for (const child of children.splice(0)) {
        await child.stop()
        collectLog(child, `PostgreSQL (TTL ${LEASE_TTL_MS})`)
      }
      await runRounds(PRODUCTION_TTL_MS, PRODUCTION_TTL_ROUNDS)
    }
    return { rounds }
  } finally {
    for (const child of children) {
      await child.stop()
      collectLog(child, 'PostgreSQL')
    }
    await database?.end().catch(() => {})
    await fleet.close()
    await postgres.stop()
  }
}

// ---- the section ------------------------------------------------------------------------------------

export async function runSessions(log: (line: string) => void): Promise<SectionResult> {
  logLines.clear()
  log('building dist/ (npm run build) and the stand-in trust preload')
  const command = await serviceCommand()
  const counts = await manySessions(command, log)
  const { rounds, skipped } = await failover(command, log)

  const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`
  const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : 'n/a')
  const base = counts[0]!
  const last = counts.at(-1)!
  const slope = (r: CountResult, value: (r: CountResult) => number) => (r.sessions === base.sessions ? Number.NaN : (value(r) - value(base)) / (r.sessions - base.sessions))
  const slopePaired = slope(last, (r) => r.rssPaired)
  const slopeRestarted = slope(last, (r) => r.rssRestarted)
  const restart = counts.find((r) => r.sessions === TARGET_RESTART_SESSIONS) ?? last

  const tables: SectionResult['tables'] = [
    {
      title: 'Paired idle sessions in one service process (SQLite): resident set size',
      columns: ['sessions', 'RSS, paired in this process', 'vs 1 session', 'per added session', 'per added / target', 'RSS after a restart', 'vs 1 session', 'per added session', 'per added / target'],
      rows: counts.map((r) => {
        const a = slope(r, (x) => x.rssPaired)
        const b = slope(r, (x) => x.rssRestarted)
        return [
          String(r.sessions),
          mb(r.rssPaired),
          (r.rssPaired / base.rssPaired).toFixed(2),
          Number.isNaN(a) ? '' : mb(a),
          Number.isNaN(a) ? '' : (a / MB / TARGET_PER_SESSION_MB).toFixed(2),
          mb(r.rssRestarted),
          (r.rssRestarted / base.rssRestarted).toFixed(2),
          Number.isNaN(b) ? '' : mb(b),
          Number.isNaN(b) ? '' : (b / MB / TARGET_PER_SESSION_MB).toFixed(2),
        ]
      }),
      notes: [
        `Sessions \`default\`, s001, s002, ... each paired with its own stand-in account (one fleet in the bench process), ${PAIR_BATCH} at a time: created with POST /api/sessions, QR read from GET /api/sessions/{name}/qr, scanned; pairing took ${counts.map((r) => `${fmt(r.pairSeconds)} s (to ${r.sessions})`).join(', ')}.`,
        `RSS: median of ${RSS_SAMPLES} readings of VmRSS, ${RSS_EVERY_MS / 1000} s apart, after ${SETTLE_MS / 1000} s idle once GET /api/sessions showed every session loggedIn. "Paired in this process": the process the sessions were paired in (it also ran the pairings of the smaller counts); "after a restart": the next process (SIGTERM, then a new one on the same file), which has only reconnected them. "Per added session" is (RSS(N) - RSS(${base.sessions})) / (N - ${base.sessions}), baseline the ${base.sessions}-session row; target ${TARGET_PER_SESSION_MB} MB.`,
      ],
    },
    {
      title: 'Where it is: process.memoryUsage() right after a forced full collection (after the RSS readings above)',
      columns: ['sessions', 'process', 'RSS before the collection', 'heap used', 'heap total', 'external (array buffers)', 'RSS after the collection'],
      rows: [
        ...counts.flatMap((r) => [
          [String(r.sessions), 'paired in it', mb(r.rssPaired), mb(r.heapPaired.heapUsed), mb(r.heapPaired.heapTotal), `${mb(r.heapPaired.external)} (${mb(r.heapPaired.arrayBuffers)})`, mb(r.heapPaired.rss)],
          [String(r.sessions), 'restarted', mb(r.rssRestarted), mb(r.heapRestarted.heapUsed), mb(r.heapRestarted.heapTotal), `${mb(r.heapRestarted.external)} (${mb(r.heapRestarted.arrayBuffers)})`, mb(r.heapRestarted.rss)],
        ]),
        ...(counts.length > 1
          ? (['paired in it', 'restarted'] as const).map((state) => {
              const pick = (r: CountResult) => (state === 'restarted' ? { rss: r.rssRestarted, heap: r.heapRestarted } : { rss: r.rssPaired, heap: r.heapPaired })
              const per = (value: (r: CountResult) => number) => mb(slope(last, value))
              return [
                `per added session, ${base.sessions} -> ${last.sessions}`,
                state,
                per((r) => pick(r).rss),
                per((r) => pick(r).heap.heapUsed),
                per((r) => pick(r).heap.heapTotal),
                `${per((r) => pick(r).heap.external)} (${per((r) => pick(r).heap.arrayBuffers)})`,
                per((r) => pick(r).heap.rss),
              ]
            })
          : []),
      ],
      notes: ['The service processes run with --inspect=127.0.0.1:0 for this reading (nothing connects to the inspector before it); two HeapProfiler.collectGarbage calls, then process.memoryUsage().'],
    },
    {
      title: 'Restart: spawn of a new process (same SQLite file, sessions paired) to every session loggedIn in GET /api/sessions',
      columns: ['sessions', 'spawn to /health (baseline)', 'spawn to all loggedIn', 'vs /health', `vs target (${TARGET_RESTART_MS / 1000} s)`, 'service CPU until then', 'SIGTERM to exit (the process before)'],
      rows: counts.map((r) => [String(r.sessions), sec(r.healthMs), sec(r.connectedMs), (r.connectedMs / r.healthMs).toFixed(2), (r.connectedMs / TARGET_RESTART_MS).toFixed(2), `${r.restartCpu.toFixed(2)} s`, sec(r.stopMs)]),
      notes: [
        `GET /api/sessions polled every ${POLL_MS} ms from /health on; the service's CPU time (user + system, /proc/<pid>/stat) is read when the last session shows loggedIn.`,
        '/health comes later than in the start-up section: the trust preload imports Baileys before the service starts (as deployed, Baileys loads right after listen), so the same load sits before /health here instead of after it.',
      ],
    },
  ]
  if (skipped) tables.push({ title: 'Failover (PostgreSQL): skipped', columns: ['why'], rows: [[skipped]] })
  else {
    const ttls = [...new Set(rounds.map((r) => r.ttlMs))]
    tables.push({
      title: `Failover: ${FAILOVER_PROCESSES} processes on PostgreSQL share ${FAILOVER_SESSIONS} paired sessions; SIGKILL the one owning the most`,
      columns: ['WA_LEASE_TTL_MS', 'round', 'sessions on the killed process', 'its leases had left', 'kill to none shown as its', 'kill to all loggedIn, live owner', 'of which after the leases expired', 'vs WA_LEASE_TTL_MS (baseline)', 'vs target (TTL + 5 s)'],
      rows: ttls.flatMap((ttl) => {
        const mine = rounds.filter((r) => r.ttlMs === ttl)
        const row = (label: string, r: Omit<FailoverRound, 'ttlMs'>) => [
          String(ttl),
          label,
          label === 'median' ? '' : String(r.victimOwned),
          sec(r.leaseLeftMs),
          sec(r.orphanMs),
          sec(r.failoverMs),
          sec(r.failoverMs - r.leaseLeftMs),
          (r.failoverMs / ttl).toFixed(2),
          (r.failoverMs / (ttl + 5000)).toFixed(2),
        ]
        const med = (key: keyof FailoverRound) => median(mine.map((r) => r[key]))
        return [
          ...mine.map((r, i) => row(String(i + 1), r)),
          ...(mine.length > 1 ? [row('median', { victimOwned: 0, leaseLeftMs: med('leaseLeftMs'), orphanMs: med('orphanMs'), failoverMs: med('failoverMs') })] : []),
        ]
      }),
      notes: [
        `Polled through a surviving process (GET /api/sessions every ${POLL_MS} ms); a live owner is a process still running. Between rounds a new process joins and takes its share by handover, so each round starts with ${FAILOVER_PROCESSES} processes and an even spread. "Its leases had left": the latest expiresAt of the killed process's Lease rows, read from the database right after the kill.`,
        'Each process renews its leases every WA_LEASE_TTL_MS / 3 or so, so at the kill they have about 2/3 to 3/3 of the TTL left. "After the leases expired" is the rest: the survivors waiting for their next ownership tick (every TTL / 3, each with its own phase) and for any grace period src/session/ownership.ts gives an expired lease, then connecting.',
      ],
    })
  }

  const checks: SectionResult['checks'] = [
    {
      what: `RSS per added idle session, ${base.sessions} -> ${last.sessions} sessions (paired in the process)`,
      value: mb(slopePaired),
      target: `<= ${TARGET_PER_SESSION_MB} MB`,
      ok: slopePaired <= TARGET_PER_SESSION_MB * MB,
    },
    {
      what: `RSS per added idle session, ${base.sessions} -> ${last.sessions} sessions (after a restart)`,
      value: mb(slopeRestarted),
      target: `<= ${TARGET_PER_SESSION_MB} MB`,
      ok: slopeRestarted <= TARGET_PER_SESSION_MB * MB,
    },
    {
      what: `restart to all ${restart.sessions} sessions loggedIn`,
      value: sec(restart.connectedMs),
      target: `< ${TARGET_RESTART_MS / 1000} s`,
      ok: restart.connectedMs < TARGET_RESTART_MS && restart.sessions >= TARGET_RESTART_SESSIONS,
    },
  ]
  for (const ttl of [...new Set(rounds.map((r) => r.ttlMs))]) {
    const times = rounds.filter((r) => r.ttlMs === ttl).map((r) => r.failoverMs)
    const max = Math.max(...times)
    checks.push({
      what: `failover after SIGKILL, WA_LEASE_TTL_MS=${ttl}: max of ${times.length} (median ${sec(median(times))})`,
      value: sec(max),
      target: `< ${(ttl + 5000) / 1000} s`,
      ok: max < ttl + 5000,
    })
  }
  const logged = [...logLines].sort((a, b) => b[1] - a[1])
  return {
    tables,
    checks,
    notes: [
      `\`npm start\` is \`${command.text}\`; the bench runs that command without npm and its shell, with \`--import ./bench/out/trust-test-root.mjs\` before the entry file (tests/standin/trust-test-root.ts bundled to plain JavaScript: the child's Baileys trusts the stand-in; no tsx in the service process). LOG_LEVEL=${LOG_LEVEL}, API_KEY set, other settings at their defaults (RECONNECT_*, SEND_MIN_GAP_MS, WA_LEASE_TTL_MS=15000 for SQLite).`,
      logged.length === 0
        ? 'The service processes logged no warnings or errors.'
        : `Warnings and errors the service processes logged: ${logged.map(([line, n]) => `${n} x ${line}`).join('; ')}.`,
    ],
  }
}
