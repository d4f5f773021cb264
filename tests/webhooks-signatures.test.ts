// Replay-safe signatures (issue 16): every delivery carries X-Wsgo-Timestamp, and with a secret both
// X-Wsgo-Signature (the body) and X-Wsgo-Signature-V2 (t=<timestamp>,v1=<HMAC of "timestamp.body">).
// A real delivery is captured by a real receiver and verified from its raw bytes: by hand, then by
// the README's own Node and Python snippets (run as written), which must also refuse a tampered body
// and a replay of an old request.
import { afterEach, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHmac, timingSafeEqual } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { Receiver, type ReceivedRequest } from './support/receiver.js'
import { startTestService, tempDir, type TestService } from './support/service.js'
import { sampleMessage } from './support/fixtures.js'

const SECRET = 'whsec-v2-0123456789'

const cleanups: Array<() => Promise<unknown> | unknown> = []
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!()
})

/** A delivery of one `message` event, signed with SECRET (or unsigned), as the receiver got it. */
async function capture(secret: string | null): Promise<ReceivedRequest> {
  const hook = await Receiver.start()
  cleanups.push(() => hook.close())
  const svc: TestService = await startTestService()
  cleanups.push(() => svc.close())
  const res = await fetch(`${svc.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: hook.url, events: ['message'], secret }) })
  assert.equal(res.status, 200)
  await (await svc.services.sessions.get('default')).events.record('message', { ...sampleMessage(1), text: 'héllo ✓ "quoted"' })
  await hook.waitFor((r) => r.length === 1)
  return hook.requests[0]!
}

/** A fenced code block of README.md's webhook section, by its language. */
function readmeSnippet(language: 'js' | 'python'): string {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8')
  const section = readme.slice(readme.indexOf('## Webhooks'))
  const match = new RegExp('```' + language + '\\n([\\s\\S]*?)```').exec(section.slice(0, section.indexOf('\n## ', 3)))
  assert.ok(match, `README.md's Webhooks section has a ${language} block`)
  return match[1]!
}

/** Three cases every verifier must judge alike: the captured request, its body tampered with, and a replay an hour later. */
function cases(request: ReceivedRequest) {
  const headers = Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, String(value)]))
  const tampered = Buffer.from(request.text.replace('hello', 'HELLO').replace('héllo', 'hallo'))
  assert.notDeepEqual(tampered, request.body)
  return [
    { name: 'as delivered', body: request.body, headers, nowOffset: 0, valid: true },
    { name: 'body tampered with', body: tampered, headers, nowOffset: 0, valid: false },
    { name: 'replayed an hour later', body: request.body, headers, nowOffset: 3600, valid: false },
  ]
}

test('both signatures verify from the raw body; the timestamp is the time of the attempt', async () => {
  const request = await capture(SECRET)
  const timestamp = String(request.headers['x-wsgo-timestamp'])
  assert.match(timestamp, /^\d{10}$/)
  assert.ok(Math.abs(Number(timestamp) - Date.now() / 1000) < 30, 'the timestamp is now, in unix seconds')

  const hmac = (data: Buffer) => createHmac('sha256', SECRET).update(data).digest('hex')
  const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b))
  assert.ok(same(String(request.headers['x-wsgo-signature']), `sha256=${hmac(request.body)}`), 'X-Wsgo-Signature is unchanged')
  const v2 = String(request.headers['x-wsgo-signature-v2'])
  assert.match(v2, /^t=\d{10},v1=[0-9a-f]{64}$/)
  assert.equal(v2, `t=${timestamp},v1=${hmac(Buffer.concat([Buffer.from(`${timestamp}.`), request.body]))}`)
  // The timestamp is signed: moved, the signature no longer matches.
  const moved = Number(timestamp) + 1
  assert.notEqual(v2.split(',v1=')[1], hmac(Buffer.concat([Buffer.from(`${moved}.`), request.body])))
})

test('without a secret: the timestamp, and no signature headers', async () => {
  const request = await capture(null)
  assert.match(String(request.headers['x-wsgo-timestamp']), /^\d{10}$/)
  assert.equal(request.headers['x-wsgo-signature'], undefined)
  assert.equal(request.headers['x-wsgo-signature-v2'], undefined)
})

test("the README's Node snippet accepts the delivery, refuses a tampered body and a replay", async () => {
  const request = await capture(SECRET)
  const dir = tempDir('wsgo-verify-')
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const script = path.join(dir, 'verify.cjs')
  // The snippet as written, then a driver: each case's verdict on stdout, with the clock moved.
  writeFileSync(
    script,
    `${readmeSnippet('js')}
const cases = JSON.parse(require('node:fs').readFileSync(0, 'utf8'))
const realNow = Date.now
for (const c of cases) {
  Date.now = () => realNow() + c.nowOffset * 1000
  console.log(verifyWsgo(${JSON.stringify(SECRET)}, Buffer.from(c.body, 'base64'), c.headers))
}
`,
  )
  const all = cases(request)
  const input = JSON.stringify(all.map((c) => ({ ...c, body: c.body.toString('base64') })))
  const verdicts = execFileSync(process.execPath, [script], { input, encoding: 'utf8' }).trim().split('\n')
  assert.deepEqual(Object.fromEntries(all.map((c, i) => [c.name, verdicts[i]])), Object.fromEntries(all.map((c) => [c.name, String(c.valid)])))
})

const python = spawnSync('python3', ['--version']).status === 0
test("the README's Python snippet accepts the delivery, refuses a tampered body and a replay", { skip: python ? false : 'python3 is not installed here' }, async () => {
  const request = await capture(SECRET)
  const driver = `${readmeSnippet('python')}
import base64, json, sys
_real_time = time.time
for c in json.load(sys.stdin):
    time.time = lambda: _real_time() + c["nowOffset"]
    print("true" if verify_wsgo(${JSON.stringify(SECRET)}, base64.b64decode(c["body"]), c["headers"]) else "false")
`
  const all = cases(request)
  const input = JSON.stringify(all.map((c) => ({ ...c, body: c.body.toString('base64') })))
  const verdicts = execFileSync('python3', ['-c', driver], { input, encoding: 'utf8' }).trim().split('\n')
  assert.deepEqual(Object.fromEntries(all.map((c, i) => [c.name, verdicts[i]])), Object.fromEntries(all.map((c) => [c.name, String(c.valid)])))
})
