// The load generator, in a worker thread of the bench process: autocannon runs here so that it
// uses its own core instead of the event loop of the servers it measures (on the main thread).
// Plain JavaScript: worker threads do not inherit tsx's loader. Messages: {id, options} in,
// {id, result} or {id, error} out. Latencies are taken from autocannon's per-response event, in
// fractional milliseconds (its own histogram has 1 ms resolution).
import { parentPort } from 'node:worker_threads'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const autocannon = require('autocannon')

function run(options) {
  return new Promise((resolve, reject) => {
    const latencies = []
    let ok = 0
    let other = 0
    const started = process.hrtime.bigint()
    const instance = autocannon({ ...options, setupClient: undefined }, (error, result) => {
      if (error) return reject(error)
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      resolve({
        seconds,
        responses: ok + other,
        ok,
        other,
        errors: result.errors,
        timeouts: result.timeouts,
        latencies: Float64Array.from(latencies),
      })
    })
    instance.on('response', (_client, statusCode, _bytes, responseTime) => {
      if (statusCode >= 200 && statusCode < 300) {
        ok++
        latencies.push(responseTime)
      } else other++
    })
  })
}

parentPort.on('message', async ({ id, options }) => {
  try {
    const result = await run(options)
    parentPort.postMessage({ id, result }, [result.latencies.buffer])
  } catch (error) {
    parentPort.postMessage({ id, error: String(error?.stack ?? error) })
  }
})
