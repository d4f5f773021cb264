// The live event stream (GET /api/events/stream): how soon an incoming message reaches a connected
// SSE client, next to how soon the same message reaches the webhook receiver (the baseline,
// measured on the same messages in the same run). The service runs in this process, paired with the
// stand-in; the SSE client and the receiver are in this process too (loopback).
import { percentile, series, sleep } from './stats.js'
import { fmt, fmtRatio, fmtSeries, type SectionResult } from './report.js'
import { settings } from './settings.js'
import { SENDER, startPaired } from './paired.js'

/** An SSE client that notes when each message event arrived, by message id. */
async function connectStream(url: string): Promise<{ arrival(id: string, timeoutMs?: number): Promise<number>; close(): void }> {
  const controller = new AbortController()
  const res = await fetch(`${url}/api/events/stream?type=message`, { signal: controller.signal })
  if (res.status !== 200) throw new Error(`the stream answered ${res.status}`)
  const arrivals = new Map<string, number>()
  const waiters = new Set<() => void>()
  const messageId = /"messageID":"([^"]+)"/g
  void (async () => {
    const decoder = new TextDecoder()
    let text = ''
    try {
      for await (const chunk of res.body!) {
        const now = performance.now()
        text += decoder.decode(chunk as Uint8Array, { stream: true })
        const end = text.lastIndexOf('\n\n')
        if (end < 0) continue
        for (const match of text.slice(0, end).matchAll(messageId)) arrivals.set(match[1]!, now)
        text = text.slice(end + 2)
        for (const wake of waiters) wake()
      }
    } catch {
      // aborted by close()
    }
  })()
  return {
    arrival(id, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const at = arrivals.get(id)
          if (at === undefined) return
          waiters.delete(check)
          clearTimeout(timer)
          resolve(at)
        }
        const timer = setTimeout(() => {
          waiters.delete(check)
          reject(new Error(`no stream event for ${id} within ${timeoutMs} ms`))
        }, timeoutMs)
        waiters.add(check)
        check()
      })
    },
    close: () => controller.abort(),
  }
}

export async function runEventStream(log: (line: string) => void): Promise<SectionResult> {
  const runs = settings.runs
  const count = 150
  const paired = await startPaired()
  const stream = await connectStream(paired.h.url)
  const sse: number[][] = []
  const webhook: number[][] = []
  try {
    for (let round = 1; round <= runs; round++) {
      log(`round ${round}/${runs}: ${count} messages one at a time, to a connected stream and to the webhook`)
      const toStream: number[] = []
      const toWebhook: number[] = []
      for (let i = 0; i < count; i++) {
        const id = await paired.h.standin.sendText(SENDER, `stream ${round}.${i}`)
        const written = performance.now()
        const [streamed, delivered] = await Promise.all([stream.arrival(id), paired.receiver.waitForMessage(id)])
        toStream.push(streamed - written)
        toWebhook.push(delivered - written)
        await sleep(5)
      }
      sse.push(toStream)
      webhook.push(toWebhook)
    }
  } finally {
    stream.close()
    await paired.close()
  }
  const p = (samples: number[][], q: number) => series(samples.map((run) => percentile(run, q)))
  const sseP99 = p(sse, 99)
  const webhookP99 = p(webhook, 99)
  const ratio = series(sse.map((run, i) => percentile(run, 99) / percentile(webhook[i]!, 99)))
  return {
    tables: [
      {
        title: 'Incoming message -> client, ms (service, client and receiver in one process, SQLite)',
        columns: ['path', 'p50', 'p99', 'p99 ratio to the webhook'],
        rows: [
          ['SSE stream (GET /api/events/stream)', fmtSeries(p(sse, 50)), fmtSeries(sseP99), fmtRatio(ratio)],
          ['webhook (baseline, same messages)', fmtSeries(p(webhook, 50)), fmtSeries(webhookP99), '1'],
        ],
        notes: [
          `${runs} runs of ${count} messages, 5 ms apart; latency from the message frame written to the service's socket to the client having parsed the event (SSE) or the receiver having read the body (webhook); median (min-max) of the per-run figures.`,
        ],
      },
    ],
    checks: [{ what: 'incoming message -> SSE client p99', value: `${fmt(sseP99.median)} ms`, target: '< 10 ms', ok: sseP99.median < 10 }],
    notes: [],
  }
}
