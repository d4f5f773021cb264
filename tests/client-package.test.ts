// The TypeScript client package (client/, @wsgo-ts/client) works alone: packed with npm, unpacked
// into a scratch project that has only @trpc/client, @trpc/server and typescript (linked from this
// repository: no network), it type-checks with `strict` and without skipLibCheck under nodenext,
// node16 and bundler resolution, reads none of the server's files, rejects a wrong call with the
// expected errors, and its ESM entry calls a real service from plain node.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { startTestService, tempDir, type TestService } from './support/service.js'
import { ALICE, startWithStandIn, type WhatsAppHarness } from './support/whatsapp.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const tscBin = path.join(root, 'node_modules/typescript/bin/tsc')
// What tRPC's own declarations need (fetch, AbortSignal, EventSource; Disposable): nothing more is asked.
const LIB = ['ES2022', 'DOM', 'ESNext.Disposable']

let dir: string
let project: string

/** A scratch project with the packed client unpacked into node_modules, and tRPC and TypeScript linked in. */
function scratchProject(): string {
  const packed = spawnSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: path.join(root, 'client'), encoding: 'utf8' })
  assert.equal(packed.status, 0, packed.stderr)
  const [info] = JSON.parse(packed.stdout) as [{ filename: string; files: { path: string }[] }]
  assert.deepEqual(info.files.map((f) => f.path).sort(), ['README.md', 'index.d.ts', 'index.mjs', 'package.json', 'procedures.mjs', 'router.d.ts'])
  const project = path.join(dir, 'consumer')
  const installed = path.join(project, 'node_modules/@wsgo-ts/client')
  mkdirSync(installed, { recursive: true })
  const untar = spawnSync('tar', ['-xzf', path.join(dir, info.filename), '-C', installed, '--strip-components=1'], { encoding: 'utf8' })
  assert.equal(untar.status, 0, untar.stderr)
  mkdirSync(path.join(project, 'node_modules/@trpc'), { recursive: true })
  // eventsource: an EventSource for subscriptions in Node 20, used by the run-time tests only.
  for (const name of ['@trpc/client', '@trpc/server', 'typescript', 'eventsource']) symlinkSync(path.join(root, 'node_modules', name), path.join(project, 'node_modules', name))
  writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
  return project
}

interface Checked {
  status: number | null
  output: string
  files: string[]
}

/** Runs tsc on `files` of the project with the given module settings; `files` lists what it read. */
function typeCheck(cwd: string, files: string[], module: string, moduleResolution: string): Checked {
  const config = { compilerOptions: { target: 'ES2022', lib: LIB, module, moduleResolution, strict: true, noEmit: true, types: [] }, files }
  writeFileSync(path.join(cwd, 'tsconfig.json'), JSON.stringify(config))
  const run = spawnSync(process.execPath, [tscBin, '-p', '.', '--listFiles'], { cwd, encoding: 'utf8' })
  const lines = run.stdout.split('\n').filter(Boolean)
  const files_ = lines.filter((l) => /\.(d\.)?[cm]?ts$/.test(l) && path.isAbsolute(l))
  return { status: run.status, output: lines.filter((l) => !files_.includes(l)).join('\n'), files: files_ }
}

const CORRECT = `import { createWsgoClient, isWsgoClientError, type RouterInputs, type Status, type WebhookPayload } from '@wsgo-ts/client'
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client'
import type { AppRouter } from '@wsgo-ts/client'

const wsgo = createWsgoClient({ url: 'http://localhost:8080', apiKey: 'key' })

export async function main(): Promise<unknown[]> {
  const sent = await wsgo.messages.sendText.mutate({ phone: '573001234567', message: 'hi', mentions: ['573001234568'] })
  const id: string = sent.messageID
  const status: Status = await wsgo.session.status.query()
  const loggedIn: boolean = status.loggedIn
  const state: 'connecting' | 'qr' | 'open' | 'closed' | 'logged_out' | 'standby' = status.state
  const contacts = await wsgo.contacts.list.query({ limit: 10, session: 'sales' })
  const phone: string | null | undefined = contacts[0]?.phone
  // tRPC's own client takes the router type as well.
  const plain = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: 'http://localhost:8080/trpc' })] })
  const health: { status: 'ok' } = await plain.health.check.query()
  const input: RouterInputs['messages']['sendImage'] = { phone: '573001234567', media_url: 'https://example.com/a.png' }
  const payload = JSON.parse('{}') as WebhookPayload
  const text = payload.event === 'message' ? payload.data.text : undefined
  try {
    await wsgo.session.pairCode.mutate({ phone: '573001234567' })
  } catch (error) {
    if (isWsgoClientError(error)) return [error.data?.errorCode, error.data?.issues?.[0]?.path, error.data?.httpStatus]
    if (error instanceof TRPCClientError) return [error.message]
  }
  return [id, loggedIn, state, phone, health, input, text]
}
`

// Each line is one mistake and the error tsc must give for it.
const MISTAKES: { line: string; error: RegExp }[] = [
  { line: `await wsgo.messages.sendText.mutate({ phone: '573001234567', text: 'hi' })`, error: /error TS2353: .*'text' does not exist in type/ },
  { line: `await wsgo.messages.sendText.mutate({ phone: 573001234567, message: 'hi' })`, error: /error TS2322: Type 'number' is not assignable to type 'string'/ },
  { line: `const n: number = (await wsgo.session.status.query()).loggedIn`, error: /error TS2322: Type 'boolean' is not assignable to type 'number'/ },
  { line: `await wsgo.session.status.mutate()`, error: /error TS2339: Property 'mutate' does not exist/ },
  { line: `await wsgo.messages.sendTxt.mutate({ phone: '573001234567', message: 'hi' })`, error: /error TS2551: Property 'sendTxt' does not exist .* Did you mean 'sendText'/ },
]
const WRONG = `import { createWsgoClient } from '@wsgo-ts/client'
const wsgo = createWsgoClient({ url: 'http://localhost:8080' })
export async function main() {
${MISTAKES.map((m) => `  ${m.line}`).join('\n')}
}
`

before(() => {
  dir = realpathSync(tempDir('wsgo-client-package-'))
  project = scratchProject()
  writeFileSync(path.join(project, 'correct.ts'), CORRECT)
  writeFileSync(path.join(project, 'wrong.ts'), WRONG)
})
after(() => rmSync(dir, { recursive: true, force: true }))

test('client/ is what npm run build:client makes of the router today', { timeout: 300_000 }, () => {
  const check = spawnSync(process.execPath, [path.join(root, 'scripts/build-client.mjs'), '--check'], { encoding: 'utf8' })
  assert.equal(check.status, 0, check.stdout + check.stderr)
})

test('the packed package has no dependencies but tRPC, as peers, and the server\'s version', () => {
  const pkg = JSON.parse(readFileSync(path.join(project, 'node_modules/@wsgo-ts/client/package.json'), 'utf8'))
  const server = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'))
  assert.equal(pkg.version, server.version)
  assert.equal(pkg.dependencies, undefined)
  assert.deepEqual(Object.keys(pkg.peerDependencies).sort(), ['@trpc/client', '@trpc/server'])
  assert.equal(pkg.type, 'module')
})

describe('a project type-checks calls with the package alone, no skipLibCheck', () => {
  for (const [module, resolution] of [['NodeNext', 'NodeNext'], ['Node16', 'Node16'], ['ESNext', 'Bundler']] as const) {
    test(`moduleResolution ${resolution}`, { timeout: 180_000 }, () => {
      const checked = typeCheck(project, ['correct.ts'], module, resolution)
      assert.equal(checked.status, 0, checked.output)
      // Only TypeScript's libraries, tRPC's declarations, the package and the project's own file were read.
      const allowed = [path.join(root, 'node_modules/typescript/lib/'), path.join(root, 'node_modules/@trpc/client/'), path.join(root, 'node_modules/@trpc/server/'), path.join(project, 'node_modules/@wsgo-ts/client/'), path.join(project, 'correct.ts')]
      const foreign = checked.files.filter((f) => !allowed.some((a) => f.startsWith(a)))
      assert.deepEqual(foreign, [])
      assert.ok(checked.files.includes(path.join(project, 'node_modules/@wsgo-ts/client/router.d.ts')), checked.files.join('\n'))
    })
  }

  test('a wrong call is a compile error that names the mistake', { timeout: 180_000 }, () => {
    const checked = typeCheck(project, ['wrong.ts'], 'NodeNext', 'NodeNext')
    assert.notEqual(checked.status, 0)
    const errors = checked.output.split('\n').filter((l) => l.includes('error TS'))
    assert.equal(errors.length, MISTAKES.length, checked.output)
    MISTAKES.forEach((mistake, i) => {
      const error = errors.find((e) => e.startsWith(`wrong.ts(${i + 4},`))
      assert.match(error ?? '(none)', mistake.error, `line ${i + 4}: ${mistake.line}`)
    })
  })
})

test('wsgo-ts/client, the server package\'s own export, gives the same types without skipLibCheck', { timeout: 180_000 }, () => {
  const consumer = path.join(dir, 'repo-consumer')
  mkdirSync(path.join(consumer, 'node_modules'), { recursive: true })
  symlinkSync(root, path.join(consumer, 'node_modules/wsgo-ts'))
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ name: 'repo-consumer', private: true, type: 'module' }))
  writeFileSync(
    path.join(consumer, 'client.ts'),
    `import { createWsgoClient, type Status } from 'wsgo-ts/client'
const wsgo = createWsgoClient({ url: 'http://localhost:8080' })
export async function main() {
  const status: Status = await wsgo.session.status.query()
  await wsgo.messages.sendText.mutate({ phone: '573001234567', text: 'hi' })
  return status.loggedIn
}
`,
  )
  const checked = typeCheck(consumer, ['client.ts'], 'NodeNext', 'NodeNext')
  const errors = checked.output.split('\n').filter((l) => l.includes('error TS'))
  assert.equal(errors.length, 1, checked.output)
  assert.match(errors[0]!, /^client\.ts\(5,.*error TS2353: .*'text' does not exist/)
})

describe('the generator, on a fixture router', () => {
  const FIXTURE = `import { initTRPC, tracked } from '@trpc/server'
import { z } from 'zod'

const t = initTRPC.create()
const appRouter = t.router({
  ping: t.procedure.input(z.object({ n: z.number() })).query(({ input }) => ({ n: input.n, at: new Date() })),
  onEvent: t.procedure
    .input(z.object({ type: z.string().optional() }).optional())
    .subscription(async function* () {
      yield tracked('1', { type: 'message', data: { text: 'hi', tags: ['a'] } })
    }),
  nested: t.router({ counter: t.procedure.subscription(async function* () { yield 1 }) }),
})
export type AppRouter = typeof appRouter
`
  /** Writes `source` as a module that resolves this repository's packages, and runs the generator on it. */
  function generate(name: string, source: string) {
    const fixtures = path.join(dir, 'fixtures')
    mkdirSync(fixtures, { recursive: true })
    try {
      symlinkSync(path.join(root, 'node_modules'), path.join(fixtures, 'node_modules'))
    } catch {
      // linked by an earlier call
    }
    writeFileSync(path.join(fixtures, `${name}.ts`), source)
    const out = path.join(project, name)
    const run = spawnSync(process.execPath, [path.join(root, 'scripts/build-client.mjs'), '--entry', path.join(fixtures, `${name}.ts`), '--out', out], { encoding: 'utf8' })
    return { ...run, out }
  }

  test('subscriptions come out as subscriptions, with their tracked events; Dates as the client receives them', { timeout: 180_000 }, () => {
    const run = generate('subs', FIXTURE)
    assert.equal(run.status, 0, run.stderr)
    writeFileSync(
      path.join(project, 'subs.ts'),
      `import { createTRPCClient, httpSubscriptionLink } from '@trpc/client'
import type { AppRouter } from './subs/router.js'
const client = createTRPCClient<AppRouter>({ links: [httpSubscriptionLink({ url: 'http://localhost:8080/trpc' })] })
export async function main() {
  const at: string = (await client.ping.query({ n: 1 })).at
  client.onEvent.subscribe({ type: 'message' }, { onData(event) { const id: string = event.id; const text: string = event.data.data.text; return [id, text] } })
  client.onEvent.subscribe(undefined, {})
  client.nested.counter.subscribe(undefined, { onData(n) { const x: number = n; return x } })
  // @ts-expect-error a subscription is not a query
  await client.onEvent.query()
  // @ts-expect-error the input's type is a string
  client.onEvent.subscribe({ type: 1 }, {})
  // @ts-expect-error the event's data is typed
  client.onEvent.subscribe(undefined, { onData(event) { const n: number = event.data.data.text; return n } })
  return at
}
`,
    )
    const checked = typeCheck(project, ['subs.ts'], 'NodeNext', 'NodeNext')
    assert.equal(checked.status, 0, checked.output)
  })

  test('a type that cannot be written out as data is refused, naming it', { timeout: 60_000 }, () => {
    const run = generate('recursive', `${FIXTURE}export type Tree = { name: string; children: Tree[] }\n`)
    assert.equal(run.status, 1)
    assert.match(run.stderr, /build:client: Tree\.children\[\]: a recursive type/)
  })
})

describe('the ESM entry, run by plain node from the scratch project, against a real service', () => {
  let h: WhatsAppHarness
  let keyed: TestService
  const KEY = 'client-package-test-key'

  before(async () => {
    h = await startWithStandIn()
    h.standin.contact(ALICE)
    h.standin.setRegistered([ALICE.phone])
    await h.pair()
    keyed = await startTestService({ API_KEY: KEY })
  })
  after(async () => {
    await h?.close()
    await keyed?.close()
  })

  /**
   * Runs `body` (an async function body that returns JSON) as an ESM script of the scratch project.
   * Asynchronously: the service answering it runs in this process.
   */
  async function runInProject(body: string, env: Record<string, string>): Promise<unknown> {
    const file = path.join(project, `run-${readdirSync(project).length}.mjs`)
    writeFileSync(file, `import { createWsgoClient, isWsgoClientError } from '@wsgo-ts/client'
const failure = async (call) => { try { await call; return 'no error' } catch (error) { return isWsgoClientError(error) ? { errorCode: error.data?.errorCode, httpStatus: error.data?.httpStatus, paths: (error.data?.issues ?? []).map((i) => i.path) } : String(error) } }
const result = await (async () => { ${body} })()
process.stdout.write(JSON.stringify(result))
`)
    const run = await promisify(execFile)(process.execPath, [file], { cwd: project, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000 })
    return JSON.parse(run.stdout)
  }

  test('sends a text through WhatsApp, reads the status, and gets the service\'s errors', { timeout: 120_000 }, async () => {
    const result = (await runInProject(
      `const wsgo = createWsgoClient({ url: process.env.WSGO_URL })
      const [status, sent] = await Promise.all([wsgo.session.status.query(), wsgo.messages.sendText.mutate({ phone: process.env.PHONE, message: 'from the client package' })])
      return { loggedIn: status.loggedIn, sent, bad: await failure(wsgo.messages.sendText.mutate({ phone: '12ab', message: 'x' })) }`,
      { WSGO_URL: h.url, PHONE: ALICE.phone },
    )) as { loggedIn: boolean; sent: { status: string; messageID: string }; bad: unknown }
    assert.equal(result.loggedIn, true)
    assert.equal(result.sent.status, 'sent')
    const out = await h.standin.waitForOutgoing((m) => m.id === result.sent.messageID)
    assert.equal(out.text, 'from the client package', "what Alice's WhatsApp decrypted")
    assert.deepEqual(result.bad, { errorCode: 'VALIDATION_ERROR', httpStatus: 400, paths: ['phone'] })
  })

  test('sends the API key, and a wrong key is UNAUTHORIZED', { timeout: 60_000 }, async () => {
    const result = (await runInProject(
      `const good = createWsgoClient({ url: process.env.WSGO_URL + '/trpc/', apiKey: process.env.KEY, batch: false })
      const bad = createWsgoClient({ url: process.env.WSGO_URL, apiKey: 'wrong' })
      return { status: await good.session.status.query(), wrong: await failure(bad.session.status.query()), none: await failure(createWsgoClient({ url: process.env.WSGO_URL }).session.status.query()) }`,
      { WSGO_URL: keyed.url, KEY },
    )) as { status: { loggedIn: boolean; state: string }; wrong: unknown; none: unknown }
    assert.equal(result.status.loggedIn, false)
    assert.equal(typeof result.status.state, 'string')
    assert.deepEqual(result.wrong, { errorCode: 'UNAUTHORIZED', httpStatus: 401, paths: [] })
    assert.deepEqual(result.none, { errorCode: 'UNAUTHORIZED', httpStatus: 401, paths: [] })
  })

  test('subscribes to the event stream over SSE, the key carried as api_key', { timeout: 60_000 }, async () => {
    const result = (await runInProject(
      `const { EventSource } = await import('eventsource')
      const admin = createWsgoClient({ url: process.env.WSGO_URL, apiKey: process.env.KEY })
      await admin.webhook.set.mutate({ url: 'http://127.0.0.1:9/hook' })
      const { deliveryId } = await admin.webhook.test.mutate()
      const stream = (apiKey) => new Promise((resolve) => {
        const client = createWsgoClient({ url: process.env.WSGO_URL, apiKey, EventSource })
        const timer = setTimeout(() => { sub.unsubscribe(); resolve('no event') }, 20_000)
        const sub = client.events.onEvent.subscribe({ types: ['webhook_test'], lastEventId: '0' }, {
          onData(event) { clearTimeout(timer); sub.unsubscribe(); resolve({ id: event.id, type: event.data.type, message: event.data.data.message }) },
          onError(error) { clearTimeout(timer); sub.unsubscribe(); resolve(isWsgoClientError(error) ? { errorCode: error.data?.errorCode } : String(error)) },
        })
      })
      return { deliveryId, event: await stream(process.env.KEY), wrongKey: await stream('wrong') }`,
      { WSGO_URL: keyed.url, KEY },
    )) as { deliveryId: string; event: { id: string; type: string; message: string }; wrongKey: unknown }
    assert.match(result.event.id, /^\d+$/)
    assert.equal(result.event.type, 'webhook_test')
    assert.equal(typeof result.event.message, 'string')
    assert.deepEqual(result.wrongKey, { errorCode: 'UNAUTHORIZED' })
  })

  test('a client given a session acts on it, with that session\'s own key, unless a call names another', { timeout: 60_000 }, async () => {
    const result = (await runInProject(
      `const admin = createWsgoClient({ url: process.env.WSGO_URL, apiKey: process.env.KEY })
      await admin.sessions.create.mutate({ name: 'sales' })
      const { key } = await admin.sessions.createKey.mutate({ session: 'sales' })
      const sales = createWsgoClient({ url: process.env.WSGO_URL, apiKey: key, session: 'sales' })
      return {
        health: await sales.health.check.query(),
        status: await sales.session.status.query(),
        webhook: await sales.webhook.get.query(),
        other: await failure(sales.session.status.query({ session: 'default' })),
        unbound: await failure(createWsgoClient({ url: process.env.WSGO_URL, apiKey: key }).session.status.query()),
      }`,
      { WSGO_URL: keyed.url, KEY },
    )) as { health: unknown; status: { loggedIn: boolean }; webhook: { url: unknown }; other: unknown; unbound: unknown }
    assert.deepEqual(result.health, { status: 'ok' })
    assert.equal(result.status.loggedIn, false)
    assert.equal(result.webhook.url, null)
    assert.deepEqual(result.other, { errorCode: 'FORBIDDEN', httpStatus: 403, paths: [] })
    assert.deepEqual(result.unbound, { errorCode: 'FORBIDDEN', httpStatus: 403, paths: [] })
  })
})
