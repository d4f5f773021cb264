// `npm test`'s reporter: one line per top-level test or suite, a failure's error in full where it
// happens and again at the end, then the totals. Node's TAP (about 1,200 lines for this suite) is one
// flag away: `npm test -- --tap`. Plain JavaScript so the test runner loads it without a loader.
import path from 'node:path'
import { inspect } from 'node:util'

const color = process.stdout.isTTY && !process.env.NO_COLOR
const paint = (code, text) => (color ? `\x1b[${code}m${text}\x1b[0m` : text)
const green = (t) => paint(32, t)
const red = (t) => paint(31, t)
const dim = (t) => paint(2, t)
const yellow = (t) => paint(33, t)

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`
const fileOf = (data) => (data.file ? path.relative(process.cwd(), data.file) : '(runner)')

/** The thrown error, without the runner's wrapper ("test failed" around the real cause). */
function describeFailure(error) {
  const cause = error?.cause ?? error
  const text = cause instanceof Error ? (cause.stack ?? cause.message) : inspect(cause, { depth: 4 })
  return text
    .split('\n')
    .filter((line) => !line.includes('node:internal'))
    .slice(0, 30)
    .map((line) => `      ${line}`)
    .join('\n')
}

export default async function* summaryReporter(source) {
  const counts = { pass: 0, fail: 0, skip: 0, todo: 0 }
  const failures = []
  const fileTime = new Map()
  /** Output a failing file wrote (a child process's log, an unhandled error), shown with its failure. */
  const stderr = new Map()
  for await (const { type, data } of source) {
    if (type === 'test:stderr') {
      const file = fileOf(data)
      stderr.set(file, ((stderr.get(file) ?? '') + data.message).slice(-4000))
      continue
    }
    if (type !== 'test:pass' && type !== 'test:fail') continue
    const file = fileOf(data)
    const isSuite = data.details?.type === 'suite'
    if (!isSuite) {
      if (data.skip !== undefined) counts.skip++
      else if (data.todo !== undefined) counts.todo++
      else if (type === 'test:pass') counts.pass++
      else counts.fail++
    }
    if (type === 'test:fail' && !isSuite) {
      const failure = { file, name: data.name, error: describeFailure(data.details?.error) }
      failures.push(failure)
      yield `${red('✖')} ${file} ${dim('›')} ${data.name}\n${failure.error}\n`
    }
    if (data.nesting === 0) {
      fileTime.set(file, (fileTime.get(file) ?? 0) + (data.details?.duration_ms ?? 0))
      const mark = type === 'test:pass' ? (data.skip !== undefined ? yellow('-') : green('✔')) : red('✖')
      const note = data.skip !== undefined ? yellow(` skipped${typeof data.skip === 'string' ? `: ${data.skip}` : ''}`) : ''
      yield `${mark} ${dim(file)} ${data.name}${note} ${dim(seconds(data.details?.duration_ms ?? 0))}\n`
    }
  }
  const slowest = [...fileTime].sort((a, b) => b[1] - a[1]).slice(0, 5)
  let summary = `\n${dim('slowest files:')} ${slowest.map(([f, ms]) => `${f} ${seconds(ms)}`).join(', ')}\n`
  if (failures.length > 0) {
    summary += `\n${red(`${failures.length} failed:`)}\n`
    for (const { file, name, error } of failures) summary += `${red('✖')} ${file} › ${name}\n${error}\n`
    for (const file of new Set(failures.map((f) => f.file))) {
      if (stderr.has(file)) summary += `\n${dim(`stderr of ${file} (last 4000 characters):`)}\n${stderr.get(file)}\n`
    }
  }
  const parts = [green(`${counts.pass} passed`), counts.fail ? red(`${counts.fail} failed`) : '0 failed']
  if (counts.skip) parts.push(yellow(`${counts.skip} skipped`))
  if (counts.todo) parts.push(`${counts.todo} todo`)
  summary += `\n${parts.join(', ')}\n`
  yield summary
}
