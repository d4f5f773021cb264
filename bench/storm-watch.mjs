// The storm bench's observers, in a worker thread of the bench process so that the stand-in's work
// on the main thread (framing and encrypting thousands of stanzas) does not delay them: a webhook
// receiver that answers 200 at once and notes every X-Wsgo-Delivery it gets, and a prober that asks
// the service for /health (and /api/status) on a fixed timetable. Plain JavaScript: worker threads
// do not inherit tsx's loader.
//
// The probes are open-loop: one is sent every `everyMs` whether or not the previous one has been
// answered, and each is timed from the moment it was due. A sequential prober would take one sample
// during a 5 s stall and call it one slow request; here the stall shows as the 200 probes it delayed.
//
// Messages in: {id, cmd: 'init'} -> {receiverUrl}; {id, cmd: 'probe', url, everyMs} starts probing;
// {id, cmd: 'stop'} stops and returns the latencies; {id, cmd: 'count'} counts what arrived, {id, cmd:
// 'receiver'} returns it all.
// Times are absolute milliseconds (performance.timeOrigin + performance.now()), comparable across threads.
import { Agent, createServer, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import { parentPort } from 'node:worker_threads'

const now = () => performance.timeOrigin + performance.now()

/** deliveryId -> {arrivals: [ms], answeredMs: [ms from the request's arrival to its answer written]} */
const deliveries = new Map()
/** messageID in the payload -> first arrival */
const messages = new Map()
let requests = 0

const receiver = createServer((req, res) => {
  const arrived = now()
  const chunks = []
  req.on('data', (chunk) => chunks.push(chunk))
  req.on('end', () => {
    requests++
    const body = Buffer.concat(chunks).toString('utf8')
    const id = String(req.headers['x-wsgo-delivery'] ?? '')
    const entry = deliveries.get(id) ?? { arrivals: [], answeredMs: [] }
    entry.arrivals.push(arrived)
    deliveries.set(id, entry)
    const messageId = /"messageID":"([^"]+)"/.exec(body)?.[1]
    if (messageId !== undefined && !messages.has(messageId)) messages.set(messageId, now())
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 0 })
    res.end(() => entry.answeredMs.push(now() - arrived))
  })
})
receiver.keepAliveTimeout = 30_000

let probing
async function startProbing(base, everyMs) {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 })
  if (process.env.BENCH_STORM_WARM) {
    await Promise.all(Array.from({ length: 32 }, () => new Promise((resolve) => request(`${base}/health`, { agent }, (res) => { res.resume(); res.on('end', resolve) }).on('error', resolve).end())))
  }
  // healthAt: when each /health sample was due, ms after probing started (for BENCH_STORM_TIMELINE).
  const samples = { health: [], healthAt: [], sentLag: [], status: [], failures: [] }
  let tick = 0
  const started = now()
  const probe = (path, into, due) => {
    const req = request(`${base}${path}`, { agent }, (res) => {
      res.resume()
      res.on('end', () => {
        if (res.statusCode === 200) {
          into.push(now() - due)
          if (into === samples.health) samples.healthAt.push(due - started)
        }
        else samples.failures.push(`${path}: HTTP ${res.statusCode}`)
      })
    })
    if (into === samples.health) req.on('finish', () => samples.sentLag.push([due - started, now() - due]))
    req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30 s')))
    req.on('error', (error) => samples.failures.push(`${path}: ${error.message}`))
    req.end()
  }
  // A timer per tick, aimed at its due time: late timers (this thread busy) do not shift the timetable.
  const next = () => {
    const due = started + tick * everyMs
    tick++
    probe('/health', samples.health, due)
    if (tick % 4 === 0) probe('/api/status', samples.status, due)
    probing.timer = setTimeout(next, Math.max(0, started + tick * everyMs - now()))
  }
  probing = { samples, agent, timer: undefined }
  next()
}

async function stopProbing() {
  if (!probing) return { health: [], status: [], failures: [] }
  clearTimeout(probing.timer)
  // Probes still out are waited for (at most 30 s each): a stall must not vanish from the samples.
  const { samples, agent } = probing
  probing = undefined
  for (let waited = 0; waited < 31_000 && agent.sockets && Object.values(agent.sockets).some((list) => list.length > 0); waited += 50) {
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  agent.destroy()
  return samples
}

parentPort.on('message', async ({ id, cmd, url, everyMs }) => {
  try {
    let result
    if (cmd === 'init') {
      await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve))
      result = { receiverUrl: `http://127.0.0.1:${receiver.address().port}/hook` }
    } else if (cmd === 'probe') await startProbing(url, everyMs)
    else if (cmd === 'stop') result = await stopProbing()
    else if (cmd === 'count') result = { requests, messages: messages.size }
    else if (cmd === 'receiver') {
      result = {
        requests,
        deliveries: [...deliveries].map(([deliveryId, entry]) => ({ deliveryId, ...entry })),
        messages: [...messages],
      }
    } else if (cmd === 'close') {
      await stopProbing()
      await new Promise((resolve) => {
        receiver.close(() => resolve())
        receiver.closeAllConnections()
      })
    }
    parentPort.postMessage({ id, result })
  } catch (error) {
    parentPort.postMessage({ id, error: String(error?.stack ?? error) })
  }
})
