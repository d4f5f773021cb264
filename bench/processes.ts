// Child processes for the start-up, memory and HTTP sections: the service as `npm start` runs it
// (the dist/ bundle on plain node, with package.json's flags), the service from its sources under
// tsx (`npm run dev`), and the bare floor server (bare-server.mjs), each timed from spawn to the
// first 200 on /health and measured through /proc.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import WebSocket from 'ws'
import { buildServer } from '../scripts/build.mjs'
import { productionCommand } from '../tests/support/child.js'
import { freePort } from '../tests/support/postgres.js'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

export interface Child {
  pid: number
  url: string
  /** Milliseconds from spawn to the first 200 on /health. */
  readyMs: number
  output(): string
  /** Resolves when the process ends, with how (`exit 1`, `SIGKILL`). */
  ended: Promise<string>
  /** Resident set size now, bytes (from /proc/<pid>/status). */
  rss(): number
  /**
   * Only with `inspect`: forces a full garbage collection in the child through its inspector and
   * returns its process.memoryUsage() right after (what is still reachable, and what RSS is left).
   */
  collect(): Promise<NodeJS.MemoryUsage>
  stop(): Promise<void>
}

/** One inspector session: a few Chrome DevTools Protocol calls, then close. */
async function inspectorCalls(wsUrl: string, calls: Array<{ method: string; params?: object }>): Promise<unknown[]> {
  const socket = new WebSocket(wsUrl)
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve())
    socket.once('error', reject)
  })
  try {
    const results: unknown[] = []
    for (const [index, call] of calls.entries()) {
      const id = index + 1
      results.push(
        await new Promise((resolve, reject) => {
          const onMessage = (data: WebSocket.RawData) => {
            const message = JSON.parse(String(data)) as { id?: number; result?: unknown; error?: { message: string } }
            if (message.id !== id) return
            socket.off('message', onMessage)
            if (message.error) reject(new Error(`${call.method}: ${message.error.message}`))
            else resolve(message.result)
          }
          socket.on('message', onMessage)
          socket.send(JSON.stringify({ id, ...call }))
        }),
      )
    }
    return results
  } finally {
    socket.close()
  }
}

/** A dead address for WA_WS_URL: the service keeps trying to reach WhatsApp and never does. */
export const NO_WHATSAPP = 'ws://127.0.0.1:9/ws/chat'

/** The service from its sources under tsx (`npm run dev`). */
export function serviceCommand(): string[] {
  return ['--import', 'tsx', 'src/server.ts']
}

/** The service as `npm start` runs it, without npm and its shell; builds dist/ from the current sources first. */
export async function startCommand(): Promise<{ args: string[]; env: Record<string, string>; text: string }> {
  await buildServer()
  const { args, env } = productionCommand()
  const text = [...Object.entries(env).map(([name, value]) => `${name}=${value}`), 'node', ...args].join(' ')
  return { args, env, text }
}

export function bareCommand(tsx: boolean): string[] {
  return [...(tsx ? ['--import', 'tsx'] : []), 'bench/bare-server.mjs']
}

function healthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(`${url}/health`, { agent: false }, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode === 200))
    })
    req.on('error', () => resolve(false))
    req.end()
  })
}

export async function startChild(args: string[], env: Record<string, string>, options: { inspect?: boolean } = {}): Promise<Child> {
  const port = await freePort()
  const started = performance.now()
  const child: ChildProcess = spawn(process.execPath, [...(options.inspect ? ['--inspect=127.0.0.1:0'] : []), ...args], {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', WA_WS_URL: NO_WHATSAPP, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000)
    await exited
    clearTimeout(timer)
  }
  const deadline = started + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${args.join(' ')} exited with ${child.exitCode}:\n${output}`)
    if (await healthy(url)) break
    if (performance.now() > deadline) {
      await stop()
      throw new Error(`${args.join(' ')} did not answer /health within 30 s:\n${output}`)
    }
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
  const readyMs = performance.now() - started
  return {
    pid: child.pid!,
    url,
    readyMs,
    output: () => output,
    ended: exited.then(() => child.signalCode ?? `exit ${child.exitCode}`),
    async collect() {
      const wsUrl = /Debugger listening on (ws:\/\/\S+)/.exec(output)?.[1]
      if (!wsUrl) throw new Error('the child was not started with `inspect`')
      const results = await inspectorCalls(wsUrl, [
        { method: 'HeapProfiler.collectGarbage' },
        { method: 'HeapProfiler.collectGarbage' },
        { method: 'Runtime.evaluate', params: { expression: 'JSON.stringify(process.memoryUsage())', returnByValue: true } },
      ])
      const evaluated = results[2] as { result: { value: string } }
      return JSON.parse(evaluated.result.value) as NodeJS.MemoryUsage
    },
    rss() {
      const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))
      if (!match) throw new Error(`no VmRSS for ${child.pid}`)
      return Number(match[1]) * 1024
    },
    stop,
  }
}
