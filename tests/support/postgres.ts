// A throw-away PostgreSQL server for tests, from Debian's `postgresql` package: a cluster in a temp
// directory, listening on 127.0.0.1 on a free port, owned by the unprivileged `postgres` user when
// the tests run as root (initdb refuses root). TEST_DATABASE_URL, when set, is used instead.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, chownSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'

export interface TestPostgres {
  /** URL of the server's maintenance database; use `createDatabase()` for a fresh one per test. */
  url: string
  createDatabase(): Promise<string>
  /**
   * Stops the server and keeps its data, as an operator stopping PostgreSQL would; `resume()` starts
   * it again on the same port. Not available with TEST_DATABASE_URL (a server the tests do not own).
   */
  pause?(): Promise<void>
  resume?(): Promise<void>
  stop(): Promise<void>
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim())
  return { uid: id('-u'), gid: id('-g') }
}

function findBinDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a))
  return versions.map((v) => path.join(root, v, 'bin')).find((dir) => existsSync(path.join(dir, 'initdb')))
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function withUrlDatabase(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

function databaseFactory(url: string) {
  let counter = 0
  return async () => {
    const name = `wsgo_test_${process.pid}_${Date.now()}_${counter++}`
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query(`CREATE DATABASE "${name}"`)
    } finally {
      await client.end()
    }
    return withUrlDatabase(url, name)
  }
}

async function waitUntilAccepting(url: string, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}:\n${log()}`)
    const client = new pg.Client({ connectionString: url })
    try {
      await client.connect()
      await client.end()
      return
    } catch {
      await client.end().catch(() => {})
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`postgres did not start in 20 s:\n${log()}`)
}

/**
 * Returns a PostgreSQL server for the tests, or the reason none can be had: callers skip their
 * PostgreSQL cases and say so. TEST_DATABASE_URL's server is used when given, unless the caller
 * needs a server of its `own` (one it stops and starts).
 */
export async function startTestPostgres(options: { own?: boolean } = {}): Promise<TestPostgres | { skipped: string }> {
  const given = process.env.TEST_DATABASE_URL
  if (given && !options.own) return { url: given, createDatabase: databaseFactory(given), stop: async () => {} }
  if (process.env.TEST_POSTGRES_SKIP) return { skipped: process.env.TEST_POSTGRES_SKIP }

  const bin = findBinDir()
  if (!bin) {
    const why = given ? 'this test stops and starts a PostgreSQL server of its own, and PostgreSQL is not installed here' : 'PostgreSQL is not installed'
    return { skipped: `${why} (apt-get install -y postgresql)${given ? '' : ', and TEST_DATABASE_URL is not set'}` }
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'wsgo-pg-'))
  // initdb refuses to run as root: run the cluster as the `postgres` user the package created.
  const owner: { uid?: number; gid?: number } = process.getuid?.() === 0 ? postgresUser() : {}
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid!)

  const data = path.join(dir, 'data')
  execFileSync(path.join(bin, 'initdb'), ['-D', data, '-U', 'wsgo', '-A', 'trust', '-E', 'UTF8', '--no-sync'], { stdio: 'pipe', cwd: dir, ...owner })

  const port = await freePort()
  let output = ''
  // fsync off: a test cluster is thrown away, and fsync dominates its run time.
  const args = ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-c', 'fsync=off', '-c', 'max_connections=200']
  const launch = () => {
    const started = spawn(path.join(bin, 'postgres'), args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir, ...owner })
    started.stdout?.on('data', (d) => (output += d))
    started.stderr?.on('data', (d) => (output += d))
    return started
  }
  const halt = async (server: ChildProcess) => {
    if (server.exitCode !== null || server.signalCode !== null) return
    const exited = new Promise((r) => server.once('exit', r))
    // SIGINT is PostgreSQL's "fast shutdown": it ends open sessions and stops at once.
    server.kill('SIGINT')
    // The fallback timer is unref'd: it must not hold the process open once PostgreSQL is gone.
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000).unref())])
    if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL')
  }
  let child = launch()

  const url = `postgresql://wsgo@127.0.0.1:${port}/postgres`
  await waitUntilAccepting(url, child, () => output)
  return {
    url,
    createDatabase: databaseFactory(url),
    pause: () => halt(child),
    async resume() {
      if (child.exitCode === null && child.signalCode === null) return
      child = launch()
      await waitUntilAccepting(url, child, () => output)
    },
    async stop() {
      await halt(child)
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
