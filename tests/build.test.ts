// The production build: `npm run build` bundles src/server.ts into dist/, and `npm start` runs it on
// plain node with the flags in package.json. These tests build it, then run exactly that command as a
// child process on loopback with a fresh SQLite file: what users run, not the sources under tsx.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { buildServer, outdir } from '../scripts/build.mjs'
import { freePort } from './support/postgres.js'
import { productionCommand, startServiceProcess, type ServiceProcess } from './support/child.js'
import { tempDir } from './support/service.js'
import { waitUntil, type Status } from './support/whatsapp.js'

const root = path.dirname(outdir)
const dirs: string[] = []
const processes: ServiceProcess[] = []
const freshDatabase = () => {
  const dir = tempDir('wsgo-build-')
  dirs.push(dir)
  // A folder that does not exist yet: the service creates it, as it does ./data on a first start.
  return `file:${path.join(dir, 'data', 'wsgo.db')}`
}

before(async () => {
  await buildServer()
})
after(async () => {
  await Promise.all(processes.map((p) => p.kill()))
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true })
})

test('the build writes dist/server.mjs, with the WhatsApp side (Baileys) in a chunk of its own', () => {
  const entry = readFileSync(path.join(outdir, 'server.mjs'), 'utf8')
  assert.doesNotMatch(entry, /from ["']@whiskeysockets\/baileys["']/, 'the entry must not import Baileys: it loads after listen()')
  assert.match(entry, /import\(["']\.\/chunks\/load-whatsapp-[^"']+\.mjs["']\)/)
})

test('npm start and the container run the same node command', () => {
  const { env, args } = productionCommand()
  assert.equal(args.at(-1), 'dist/server.mjs')
  const dockerfile = readFileSync(path.join(root, 'Dockerfile'), 'utf8')
  const cmd = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1]
  assert.ok(cmd, 'the Dockerfile has an exec-form CMD')
  assert.deepEqual(JSON.parse(cmd) as string[], ['node', ...args])
  for (const [name, value] of Object.entries(env)) assert.match(dockerfile, new RegExp(`^ENV .*\\b${name}=${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\s|$)`, 'm'))
})

test('the built service starts on a fresh SQLite file, serves /health, /qr and /openapi.json, and stops on SIGTERM', { timeout: 60_000 }, async () => {
  const service = await startServiceProcess({ DATABASE_URL: freshDatabase(), LOG_LEVEL: 'info', WA_WS_URL: 'ws://127.0.0.1:9/ws/chat' }, { production: true })
  processes.push(service)

  const health = await fetch(`${service.url}/health`)
  assert.equal(health.status, 200)
  assert.deepEqual(await health.json(), { status: 'ok' })

  // The page assets are read from the package root: the bundle has no src/http/pages next to it.
  const qr = await fetch(`${service.url}/qr`)
  assert.equal(qr.status, 200)
  assert.match(qr.headers.get('content-type') ?? '', /text\/html/)
  assert.match(qr.headers.get('content-security-policy') ?? '', /script-src 'sha256-/)
  const page = await qr.text()
  assert.doesNotMatch(page, /\/\*(STYLE|SCRIPT)\*\//, 'the style and script are inlined')
  assert.match(page, /<script>/)

  const openapi = await fetch(`${service.url}/openapi.json`)
  assert.equal(openapi.status, 200)
  const document = (await openapi.json()) as { openapi: string; paths: Record<string, unknown> }
  assert.match(document.openapi, /^3\./)
  assert.ok(document.paths['/api/send/text'], 'the REST routes are documented')

  // The migrations were found (from the package root too) and applied: the store answers.
  const events = await fetch(`${service.url}/api/events?limit=1`)
  assert.equal(events.status, 200)
  // Once the WhatsApp side has loaded it tries to connect (nothing listens at WA_WS_URL).
  const status = await waitUntil('the session to have tried WhatsApp', async () => {
    const s = (await (await fetch(`${service.url}/api/status`)).json()) as Status
    return s.lastDisconnect ? s : undefined
  }, 20_000, 50)
  assert.equal(status.loggedIn, false)

  await service.stop()
  const { code, signal } = await service.exited
  assert.equal(signal, null)
  assert.equal(code, 0, service.output())
  assert.match(service.output(), /"msg":"stopped"/)
})

test('SIGTERM while the WhatsApp side is still loading stops the built service cleanly', { timeout: 60_000 }, async () => {
  const { env, args } = productionCommand()
  const port = await freePort()
  const child = spawn(process.execPath, args, {
    cwd: root,
    env: { ...process.env, ...env, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'info', DATABASE_URL: freshDatabase(), WA_WS_URL: 'ws://127.0.0.1:9/ws/chat' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const listening = new Promise<void>((resolve) => {
    const onData = (data: Buffer) => {
      output += data
      if (output.includes('"msg":"wsgo listening')) resolve()
    }
    child.stdout.on('data', onData)
    child.stderr.on('data', onData)
  })
  // HTTP is up before Baileys is loaded: the signal lands in the middle of the start-up.
  await Promise.race([listening, exited])
  child.kill('SIGTERM')
  const code = await exited
  assert.equal(code, 0, output)
  assert.match(output, /"msg":"stopped during start-up"/, output)
  assert.doesNotMatch(output, /start-up failed|"level":50|"level":60/, output)
})
