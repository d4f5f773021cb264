// `npm test`: one throw-away PostgreSQL server for the whole run (unless TEST_DATABASE_URL is given
// or PostgreSQL is missing, in which case its tests say they were skipped), then Node's test runner
// over every tests/**/*.test.ts file, one file at a time, reported by tests/support/summary-reporter.mjs.
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

const reporter = tap ? ['--test-reporter=tap'] : ['--test-reporter=./tests/support/summary-reporter.mjs', '--test-reporter-destination=stdout']
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', ...reporter, ...files], { stdio: 'inherit', env })
const code: number = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))))
if (!('skipped' in postgres)) await postgres.stop()
process.exit(code)
