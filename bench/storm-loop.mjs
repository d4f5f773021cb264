// Preload for the service in the storm bench (bench/storm.ts): its own event-loop delay, measured
// inside it (perf_hooks.monitorEventLoopDelay, 10 ms resolution), so that the report can tell the
// service's long tasks from delays the probes' side adds. SIGUSR2 writes {p50, p99, max} in ms since
// the last SIGUSR2 to $BENCH_LOOP_FILE and starts again. Bench only: the service does not load it.
import { writeFileSync } from 'node:fs'
import { monitorEventLoopDelay } from 'node:perf_hooks'

const file = process.env.BENCH_LOOP_FILE
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 10 })
  histogram.enable()
  const ms = (ns) => ns / 1e6
  process.on('SIGUSR2', () => {
    writeFileSync(file, JSON.stringify({ p50: ms(histogram.percentile(50)), p99: ms(histogram.percentile(99)), max: ms(histogram.max) }))
    histogram.reset()
  })
}
