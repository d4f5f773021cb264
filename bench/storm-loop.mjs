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
  // The longest gaps between ticks of a 5 ms timer, with when they ended (absolute ms), to place stalls.
  let gaps = []
  // Also as [start, end] in µs of the monotonic clock, the clock of V8's CPU profiles, so that
  // `node bench/cpuprofile.mjs <profile> --gaps <file>` can tell what ran in each.
  let gapsUs = []
  let last = performance.now()
  let lastUs = process.hrtime.bigint() / 1000n
  setInterval(() => {
    const at = performance.now()
    const atUs = process.hrtime.bigint() / 1000n
    if (at - last > 100) {
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
  process.on('SIGUSR2', () => {
    writeFileSync(file, JSON.stringify({ p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max), gaps: gaps.sort((a, b) => b[1] - a[1]).slice(0, 10), arrivals, answers: answers.sort((a, b) => b[1] - a[1]).slice(0, 10), connections, gapsUs }))
    gapsUs = []
    arrivals = []
    answers = []
    connections = []
    histogram.reset()
    gaps = []
  })
}
