// What a user meets first (issue 19): without an API key the service is reachable from this machine
// only unless HOST says otherwise, an open API on another address is a warning, an empty key is an
// error; the start-up log names the address really bound and where to pair; logs are for people on
// a terminal (LOG_FORMAT=pretty) and JSON otherwise; a start-up that fails says why in a sentence
// with its cause, never a stack trace.
import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { networkInterfaces } from 'node:os'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { isPretty } from '../src/logger.js'
import { captureLog } from './support/log-capture.js'
import { startServiceProcess } from './support/child.js'
import { freePort } from './support/postgres.js'
import { startTestService, tempDir } from './support/service.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** An address of this machine that other machines could reach, if it has one. */
function externalAddress(): string | undefined {
  for (const addresses of Object.values(networkInterfaces())) {
    for (const address of addresses ?? []) if (address.family === 'IPv4' && !address.internal) return address.address
  }
  return undefined
}

async function reachable(url: string): Promise<boolean> {
  return fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    () => true,
    () => false,
  )
}

interface Parsed {
  level: number
  msg: string
  [key: string]: unknown
}
const parsed = (lines: string[]) => lines.map((line) => JSON.parse(line) as Parsed)

describe('where the service listens', () => {
  const external = externalAddress()

  test('no API_KEY and no HOST: 127.0.0.1 only, no warning, and the log says where to pair', async () => {
    const { lines, logger } = captureLog('info')
    const service = await startTestService({ HOST: undefined }, { logger })
    try {
      assert.equal(service.config.HOST, '127.0.0.1')
      const port = new URL(service.url).port
      const logged = parsed(lines)
      const listening = logged.find((line) => line.msg.startsWith('wsgo listening'))
      assert.equal(listening?.msg, `wsgo listening on http://127.0.0.1:${port} (this machine only)`)
      assert.ok(logged.some((line) => line.msg === `open http://localhost:${port}/qr to pair`), 'the pairing link is logged')
      assert.ok(!logged.some((line) => line.level >= 40), `nothing to warn about:\n${lines.join('')}`)
      assert.equal(await reachable(`${service.url}/health`), true)
      if (external) assert.equal(await reachable(`http://${external}:${port}/health`), false, 'not reachable on another address')
    } finally {
      await service.close()
    }
  })

  test('an API_KEY and no HOST: every interface, no warning', async () => {
    const { lines, logger } = captureLog('info')
    const service = await startTestService({ HOST: undefined, API_KEY: 'defaults-key' }, { logger })
    try {
      const port = new URL(service.url).port
      const logged = parsed(lines)
      assert.ok(logged.some((line) => line.msg === `wsgo listening on http://0.0.0.0:${port} (all interfaces)`), lines.join(''))
      assert.ok(!logged.some((line) => line.level >= 40))
      if (external) assert.equal(await reachable(`http://${external}:${port}/health`), true)
    } finally {
      await service.close()
    }
  })

  test('HOST=0.0.0.0 without a key (the container): served, with a warning that says what to do', async () => {
    const { lines, logger } = captureLog('info')
    const service = await startTestService({ HOST: '0.0.0.0' }, { logger })
    try {
      const warnings = parsed(lines).filter((line) => line.level === 40)
      assert.equal(warnings.length, 1, lines.join(''))
      assert.match(warnings[0]!.msg, /No API_KEY is set and the API is reachable from other machines/)
      assert.match(warnings[0]!.msg, /Set API_KEY/)
    } finally {
      await service.close()
    }
  })

  test('PUBLIC_URL is where the log sends people to pair', async () => {
    const { lines, logger } = captureLog('info')
    const service = await startTestService({ PUBLIC_URL: 'https://wa.example.com/' }, { logger })
    try {
      assert.ok(parsed(lines).some((line) => line.msg === 'open https://wa.example.com/qr to pair'), lines.join(''))
    } finally {
      await service.close()
    }
  })
})

/** Runs `npm run dev`'s command with `env` until it exits (it must fail to start); its output. */
function failedStart(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
      cwd: root,
      env: { ...process.env, HOST: '127.0.0.1', WA_WS_URL: 'ws://127.0.0.1:9/ws/chat', LOG_FORMAT: 'json', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (d) => (output += d))
    child.stderr.on('data', (d) => (output += d))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`the service did not exit:\n${output}`))
    }, 30_000)
    child.once('exit', (code) => {
      clearTimeout(timer)
      resolve({ code, output })
    })
  })
}

/** A failure told as one fatal line: a sentence, its cause, and no stack frames anywhere. */
function assertOneReadableFatal(output: string, sentence: RegExp, cause: RegExp): void {
  assert.doesNotMatch(output, /^\s+at /m, `no stack trace:\n${output}`)
  assert.doesNotMatch(output, /wasm/i, `nothing from WebAssembly:\n${output}`)
  const fatal = output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Parsed)
    .filter((line) => line.level === 60)
  assert.equal(fatal.length, 1, output)
  assert.match(fatal[0]!.msg, sentence)
  assert.match(String(fatal[0]!.cause), cause)
  assert.equal(fatal[0]!.err, undefined, 'no error object (with its stack) in the line')
}

describe('start-up failures', () => {
  test('an empty API_KEY stops the service with a message naming it', async () => {
    const { code, output } = await failedStart({ API_KEY: '', PORT: String(await freePort()) })
    assert.equal(code, 2)
    assert.match(output, /^wsgo cannot start: the configuration is invalid:\n {2}API_KEY="": is empty: set a key, or remove the variable/)
    assert.doesNotMatch(output, /^\s+at /m)
  })

  test('a port in use', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const { code, output } = await failedStart({ PORT: String(port), DATABASE_URL: `file:${path.join(tempDir(), 'wsgo.db')}` })
      assert.equal(code, 1)
      assertOneReadableFatal(output, new RegExp(`^Cannot listen on 127\\.0\\.0\\.1:${port}: the port is in use by another program; stop it, or set PORT`), /EADDRINUSE/)
    } finally {
      blocker.close()
    }
  })

  test('a file that is not a database: the migration failure, without the schema engine trace', async () => {
    const file = path.join(tempDir(), 'wsgo.db')
    writeFileSync(file, 'this is not an SQLite database\n'.repeat(200))
    const { code, output } = await failedStart({ PORT: String(await freePort()), DATABASE_URL: `file:${file}` })
    assert.equal(code, 1)
    assertOneReadableFatal(output, /^Refusing to start: the SQLite database .* could not be brought up to date/, /file is not a database$/)
  })

  test('PostgreSQL unreachable', async () => {
    const { code, output } = await failedStart({ PORT: String(await freePort()), DATABASE_URL: `postgresql://wsgo:wsgo@127.0.0.1:${await freePort()}/wsgo` })
    assert.equal(code, 1)
    assertOneReadableFatal(output, /^Start-up failed while opening the PostgreSQL database/, /reach database server/i)
  })

  test('an SQLite file another process uses', async () => {
    const database = `file:${path.join(tempDir(), 'wsgo.db')}`
    const first = await startServiceProcess({ DATABASE_URL: database, WA_WS_URL: 'ws://127.0.0.1:9/ws/chat' })
    try {
      const { code, output } = await failedStart({ PORT: String(await freePort()), DATABASE_URL: database })
      assert.equal(code, 1)
      assert.doesNotMatch(output, /^\s+at /m)
      assert.match(output, /"level":60,.*Another wsgo process .* is using this SQLite database/)
    } finally {
      await first.stop()
    }
  })
})

describe('log format', () => {
  test('auto is pretty on a terminal, JSON elsewhere; pretty and json force it', () => {
    assert.equal(isPretty('auto', { isTTY: true }), true)
    assert.equal(isPretty('auto', { isTTY: false }), false)
    assert.equal(isPretty('auto', {}), false)
    assert.equal(isPretty('pretty', { isTTY: false }), true)
    assert.equal(isPretty('json', { isTTY: true }), false)
  })

  test('LOG_FORMAT=pretty prints lines for people, with the pairing link; json prints JSON', async () => {
    for (const format of ['pretty', 'json'] as const) {
      const service = await startServiceProcess({ LOG_FORMAT: format, LOG_LEVEL: 'info', WA_WS_URL: 'ws://127.0.0.1:9/ws/chat', DATABASE_URL: `file:${path.join(tempDir(), 'wsgo.db')}` })
      const port = new URL(service.url).port
      await service.stop()
      const output = service.output()
      assert.match(output, new RegExp(`open http://localhost:${port}/qr to pair`))
      if (format === 'pretty') {
        assert.match(output, new RegExp(`^\\[\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\] INFO: wsgo listening on http://127\\.0\\.0\\.1:${port} \\(this machine only\\)$`, 'm'))
        assert.doesNotMatch(output, /^\{"level"/m)
      } else {
        assert.match(output, /^\{"level":30,.*"msg":"wsgo listening on/m)
      }
    }
  })
})
