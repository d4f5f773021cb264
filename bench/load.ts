// The bench side of the load generator (load-worker.mjs, a worker thread running autocannon).
import { Worker } from 'node:worker_threads'
import { percentile } from './stats.js'

export interface RequestSpec {
  method?: 'GET' | 'POST'
  path: string
  headers?: Record<string, string>
  body?: string
}

export interface LoadOptions {
  /** Base URL, e.g. http://127.0.0.1:8080 */
  url: string
  /** Requests, cycled through by each connection. */
  requests: RequestSpec[]
  connections: number
  /** Seconds; or `amount` requests in all. */
  duration?: number
  amount?: number
  pipelining?: number
  timeout?: number
}

export interface LoadResult {
  seconds: number
  /** Responses of any status. */
  responses: number
  /** 2xx responses. */
  ok: number
  /** Responses with another status. */
  other: number
  errors: number
  timeouts: number
  /** 2xx responses per second. */
  rps: number
  /** Latency of 2xx responses, milliseconds. */
  p50: number
  p99: number
}

interface Pending {
  resolve: (result: LoadResult) => void
  reject: (error: Error) => void
}

export class LoadGenerator {
  private readonly worker: Worker
  private readonly pending = new Map<number, Pending>()
  private nextId = 0

  constructor() {
    this.worker = new Worker(new URL('./load-worker.mjs', import.meta.url))
    this.worker.on('message', (message: { id: number; result?: Omit<LoadResult, 'rps' | 'p50' | 'p99'> & { latencies: Float64Array }; error?: string }) => {
      const waiting = this.pending.get(message.id)
      if (!waiting) return
      this.pending.delete(message.id)
      if (message.error !== undefined || !message.result) return waiting.reject(new Error(`load generator: ${message.error}`))
      const { latencies, ...counts } = message.result
      waiting.resolve({ ...counts, rps: counts.ok / counts.seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) })
    })
    this.worker.on('error', (error) => {
      for (const waiting of this.pending.values()) waiting.reject(error)
      this.pending.clear()
    })
  }

  run(options: LoadOptions): Promise<LoadResult> {
    const id = this.nextId++
    const { requests, ...rest } = options
    const autocannonOptions = {
      ...rest,
      pipelining: options.pipelining ?? 1,
      timeout: options.timeout ?? 30,
      requests: requests.map((r) => ({ method: r.method ?? 'GET', path: r.path, headers: r.headers ?? {}, ...(r.body !== undefined && { body: r.body }) })),
    }
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ id, options: autocannonOptions })
    })
  }

  /** Runs the load and fails if any response was not 2xx: a figure made of errors measures nothing. */
  async runOk(what: string, options: LoadOptions): Promise<LoadResult> {
    const result = await this.run(options)
    if (result.other > 0 || result.errors > 0 || result.ok === 0) {
      throw new Error(`${what}: ${result.ok} ok, ${result.other} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`)
    }
    return result
  }

  async close(): Promise<void> {
    await this.worker.terminate()
  }
}
