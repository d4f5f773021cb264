// The service as a child process, for what only a real process shows: SIGKILL, two processes on one
// database, the built bundle. By default it runs `src/server.ts` under tsx (`npm run dev`); with
// `production`, the command of `npm start` (dist/server.mjs, which must be built). With
// `trustStandIn`, the child preloads the stand-in's test root (tests/standin/trust-test-root.ts, with
// tsx to load it) so its Baileys accepts the stand-in.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from './postgres.js'
import { waitUntil } from './whatsapp.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

export interface NodeCommand {
  /** Environment variables the command sets. */
  env: Record<string, string>
  /** Arguments of node: its flags, then the entry file. */
  args: string[]
}

/**
 * `npm start` as written in package.json (`NAME=value ... node <flags> <entry>`), so tests and benches
 * run exactly what users run, without npm and a shell in between (whose process would be measured).
 */
export function productionCommand(): NodeCommand {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
  const words = pkg.scripts.start!.trim().split(/\s+/)
  const env: Record<string, string> = {}
  while (words[0] && /^[A-Z_][A-Z0-9_]*=/.test(words[0])) {
    const [name, ...value] = words.shift()!.split('=')
    env[name!] = value.join('=')
  }
  if (words.shift() !== 'node' || words.some((word) => /["'$`\\]/.test(word))) {
    throw new Error(`package.json's start script is not a plain \`[NAME=value ...] node <args>\` command: ${pkg.scripts.start}`)
  }
  return { env, args: words }
}

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

export async function startServiceProcess(env: Record<string, string>, options: { trustStandIn?: boolean; production?: boolean } = {}): Promise<ServiceProcess> {
  const port = env.PORT ?? String(await freePort())
  // The stand-in's test root is a TypeScript preload, so it brings tsx's loader along even in front
  // of the bundle (which then runs as plain JavaScript, with the production flags).
  const trust = options.trustStandIn ? ['--import', 'tsx', '--import', './tests/standin/trust-test-root.ts'] : []
  const production = options.production ? productionCommand() : undefined
  const command: NodeCommand = production
    ? { env: production.env, args: [...production.args.slice(0, -1), ...trust, production.args.at(-1)!] }
    : { env: {}, args: ['--import', 'tsx', ...trust.slice(2), 'src/server.ts'] }
  const child = spawn(process.execPath, command.args, {
    cwd: root,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...command.env, ...env, PORT: port },
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

/** The pairing QR the service shows at GET /api/qr (a base URL: a child process or an in-process service), once it has one. */
export function qrOf(service: { url: string }, timeoutMs = 20_000): Promise<string> {
  return waitUntil('a QR at GET /api/qr', async () => {
    const res = await fetch(`${service.url}/api/qr`)
    return res.status === 200 ? res.text() : undefined
  }, timeoutMs)
}

/** Resolves once GET /api/status says the service is logged in to WhatsApp. */
export function loggedIn(service: { url: string }, timeoutMs = 30_000): Promise<true> {
  return waitUntil('the service logged in', async () => {
    const status = (await fetch(`${service.url}/api/status`).then((r) => r.json(), () => ({}))) as { loggedIn?: boolean }
    return status.loggedIn ? true : undefined
  }, timeoutMs, 50)
}
