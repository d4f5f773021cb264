// Preload for the service in the storm bench (bench/storm.ts): its own event-loop delay, measured
// inside it (perf_hooks.monitorEventLoopDelay, 10 ms resolution), so that the report can tell the
// service's long tasks from delays the probes' side adds. SIGUSR2 writes {p50, p99, max} in ms since
// the last SIGUSR2 to $BENCH_LOOP_FILE and starts again. Bench only: the service does not load it.
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

const file = process.env.BENCH_LOOP_FILE
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  const ms = (ns) => ns / 1e6
  // The longest gaps between ticks of a 5 ms timer (over BENCH_STORM_GAP_MS, 100), with when they ended (absolute ms), to place stalls.
  let gaps = []
  // Also as [start, end] in µs of the monotonic clock, the clock of V8's CPU profiles, so that
  // `node bench/cpuprofile.mjs <profile> --gaps <file>` can tell what ran in each.
  let gapsUs = []
  const GAP_MS = Number(process.env.BENCH_STORM_GAP_MS ?? 100)
  let last = performance.now()
  let lastUs = process.hrtime.bigint() / 1000n
  setInterval(() => {
    const at = performance.now()
    const atUs = process.hrtime.bigint() / 1000n
    if (at - last > GAP_MS) {
      gaps.push([Math.round(performance.timeOrigin + at), Math.round(at - last)])
      gapsUs.push([Number(lastUs), Number(atUs)])
    }
    last = at
    lastUs = atUs
  }, 5).unref()
  // When /health requests reached the service's JavaScript (absolute ms), to tell a slow answer
  // from a request that had not arrived yet.
  let arrivals = []
  let answers = []
  let connections = []
  const { Server } = await import('node:http')
  const emit = Server.prototype.emit
  Server.prototype.emit = function (event, req, ...rest) {
    if (event === 'request' && req?.url === '/health') {
      const at = performance.timeOrigin + performance.now()
      arrivals.push(Math.round(at))
      // How long the service took from the request reaching it to its answer written.
      rest[0]?.once?.('finish', () => answers.push([Math.round(at), Math.round(performance.timeOrigin + performance.now() - at)]))
    }
    if (event === 'connection') connections.push(Math.round(performance.timeOrigin + performance.now()))
    return emit.call(this, event, req, ...rest)
  }
  // The window since the last SIGUSR2 in µs of the same clock (the profile of the storm alone).
  let sinceUs = Number(process.hrtime.bigint() / 1000n)
  process.on('SIGUSR2', () => {
    const nowUs = Number(process.hrtime.bigint() / 1000n)
    const windowUs = [sinceUs, nowUs]
    sinceUs = nowUs
    writeFileSync(file, JSON.stringify({ windowUs, p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), gaps: gaps.sort((a, b) => b[1] - a[1]).slice(0, 10), arrivals, answers: answers.sort((a, b) => b[1] - a[1]).slice(0, 10), connections, gapsUs }))
    gapsUs = []
    arrivals = []
    answers = []
    connections = []
    histogram.reset()
    gaps = []
  })
}

// BENCH_STORM_SQL=<file>: every SQL statement better-sqlite3 prepares, counted by text, with the
// time spent preparing and running it, written to <file>.<n> on the n-th SIGUSR2 (what the store
// does per message during a storm, and what that costs).
if (process.env.BENCH_STORM_SQL) {
  const { createRequire } = await import('node:module')
  const require = createRequire(import.meta.url)
  const Database = require('better-sqlite3')
  const prepare = Database.prototype.prepare
  let stats = new Map()
  let dumps = 0
  const texts = new WeakMap()
  const statOf = (key) => {
    let stat = stats.get(key)
    if (!stat) stats.set(key, (stat = { count: 0, prepareMs: 0, runMs: 0 }))
    return stat
  }
  Database.prototype.prepare = function (sql, ...rest) {
    const key = String(sql).replace(/\s+/g, ' ').slice(0, 160)
    const started = performance.now()
    const statement = prepare.call(this, sql, ...rest)
    const stat = statOf(key)
    stat.count++
    stat.prepareMs += performance.now() - started
    texts.set(statement, key)
    return statement
  }
  const Statement = Object.getPrototypeOf(prepare.call(new Database(':memory:'), 'SELECT 1'))
  for (const method of ['run', 'all', 'get']) {
    const original = Statement[method]
    Statement[method] = function (...args) {
      const started = performance.now()
      try {
        return original.apply(this, args)
      } finally {
        const key = texts.get(this)
        if (key !== undefined) statOf(key).runMs += performance.now() - started
      }
    }
  }
  process.on('SIGUSR2', () => {
    const rows = [...stats].sort((a, b) => b[1].prepareMs + b[1].runMs - (a[1].prepareMs + a[1].runMs))
    const total = rows.reduce((sum, [, s]) => sum + s.prepareMs + s.runMs, 0)
    writeFileSync(
      `${process.env.BENCH_STORM_SQL}.${dumps++}`,
      [`  count  prepare ms  run ms  (${total.toFixed(0)} ms in all)`, ...rows.map(([sql, s]) => `${String(s.count).padStart(7)}  ${s.prepareMs.toFixed(1).padStart(10)}  ${s.runMs.toFixed(1).padStart(6)}  ${sql}`)].join('\n'),
    )
    stats = new Map()
  })
}
