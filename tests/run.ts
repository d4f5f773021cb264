// `npm test`: one throw-away PostgreSQL server for the whole run (unless TEST_DATABASE_URL is given
// or PostgreSQL is missing, in which case its tests say they were skipped), then Node's test runner
// over every tests/**/*.test.ts file, reported by tests/support/summary-reporter.mjs: first the files
// that can share the machine, TEST_CONCURRENCY at a time (default 2), then the ones that measure
// timing-sensitive things (leases, kill -9, storms), one at a time on a quiet machine.
//   npm test -- <part of a file name>...   only those files
//   npm test -- --tap                       Node's TAP instead of the summary
import { spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import path from 'node:path'
import { startTestPostgres } from './support/postgres.js'

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name)
    if (statSync(full).isDirectory()) return name === 'node_modules' ? [] : testFiles(full)
    return name.endsWith('.test.ts') ? [full] : []
  })
}

const args = process.argv.slice(2)
const tap = args.includes('--tap')
const filters = args.filter((arg) => !arg.startsWith('--'))
const files = testFiles('tests')
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort()

const postgres = await startTestPostgres()
const env = { ...process.env }
if ('skipped' in postgres) {
  console.log(`# PostgreSQL tests will be skipped: ${postgres.skipped}`)
  env.TEST_POSTGRES_SKIP = postgres.skipped
} else {
  env.TEST_DATABASE_URL = postgres.url
}

/** Files whose tests depend on timing (lease expiry, crash windows, event-loop latency): never run beside others. */
const ALONE = /(cluster|crash-ack|storm|ownership|store-faults|store-startup|build|signatures)\.test\.ts$/
const concurrency = Math.max(1, Number(process.env.TEST_CONCURRENCY ?? 2) || 1)
const reporter = tap ? ['--test-reporter=tap'] : ['--test-reporter=./tests/support/summary-reporter.mjs', '--test-reporter-destination=stdout']

function runFiles(list: string[], filesAtOnce: number): Promise<number> {
  if (list.length === 0) return Promise.resolve(0)
  const child = spawn(process.execPath, ['--import', 'tsx', '--test', `--test-concurrency=${filesAtOnce}`, ...reporter, ...list], { stdio: 'inherit', env })
  return new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))))
}

const shared = files.filter((file) => !ALONE.test(file))
const alone = files.filter((file) => ALONE.test(file))
const first = await runFiles(shared, concurrency)
if (alone.length > 0 && shared.length > 0) console.log(`\n# the timing-sensitive files, one at a time: ${alone.join(', ')}\n`)
const second = await runFiles(alone, 1)
if (!('skipped' in postgres)) await postgres.stop()
process.exit(first || second)
