// The service as a child process (`src/server.ts`, as `npm start` runs it), for what only a real
// process shows: SIGKILL, two processes on one database. With `trustStandIn`, the child preloads
// the stand-in's test root (tests/standin/trust-test-root.ts) so its Baileys accepts the stand-in.
import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './postgres.js'
import { waitUntil } from './whatsapp.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface ServiceProcess {
  process: ChildProcess
  url: string
  output(): string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** SIGKILL: the process dies on the spot, nothing is cleaned up. */
  kill(): Promise<void>
  /** SIGTERM and wait for the exit. */
  stop(): Promise<void>
}

export async function startServiceProcess(env: Record<string, string>, options: { trustStandIn?: boolean } = {}): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort())
  const args = ['--import', 'tsx', ...(options.trustStandIn ? ['--import', './tests/standin/trust-test-root.ts'] : []), 'src/server.ts']
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...env, PORT: port },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => (output += d))
  child.stderr!.on('data', (d) => (output += d))
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
  const url = `http://127.0.0.1:${port}`
  const service: ServiceProcess = {
    process: child,
    url,
    output: () => output,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
      await exited
    },
  }
  await waitUntil(
    'the service process to answer /health',
    async () => {
      if (child.exitCode !== null) throw new Error(`the service exited with ${child.exitCode}:\n${output}`)
      return (await fetch(`${url}/health`).then((r) => r.ok, () => false)) || undefined
    },
    30_000,
    50,
  )
  return service
}
