// Requests shaped to hurt: bodies that inflate past the limit, JSON nested thousands of levels deep,
// request targets that are not paths (issue 18, item 8). Every one gets a clean 4xx JSON answer on
// every kind of route (REST /api/..., /trpc, the Express routes), nothing is logged as an error, and
// the keep-alive connection it came on is not left hanging. Raw sockets, since fetch cannot send
// most of these.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { gzipSync } from 'node:zlib'
import { captureLog } from './support/log-capture.js'
import { MAX_JSON_DEPTH } from '../src/http/json-body.js'
import { startTestService, type TestService } from './support/service.js'
import { waitUntil } from './support/whatsapp.js'

const KEY = 'hostile-input-test-key'
const LIMIT = 64 * 1024
/** Long enough for anything on loopback; the hang reported was 66 s (the keep-alive timeout). */
const PROMPT_MS = 2_000

interface RawResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/** One keep-alive HTTP/1.1 connection driven by hand: bytes out, whole responses in. */
class RawConnection {
  private received = Buffer.alloc(0)
  private closed = false
  private wake: () => void = () => {}

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk])
      this.wake()
    })
    socket.on('close', () => {
      this.closed = true
      this.wake()
    })
    socket.on('error', () => {}) // a reset shows as a close
  }

  static open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url)
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => resolve(new RawConnection(socket)))
      socket.once('error', reject)
    })
  }

  send(head: string, body: Buffer | string = ''): void {
    this.socket.write(Buffer.concat([Buffer.from(head), Buffer.from(body)]))
  }

  /** The next whole response, or 'closed' if the server closes the connection first. */
  async response(what: string, { timeoutMs = PROMPT_MS, head = false } = {}): Promise<RawResponse | 'closed'> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const parsed = this.parse(head)
      if (parsed) return parsed
      if (this.closed) return 'closed'
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no answer to ${what} within ${timeoutMs} ms`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  close(): void {
    this.socket.destroy()
  }

  private parse(head: boolean): RawResponse | undefined {
    const end = this.received.indexOf('\r\n\r\n')
    if (end < 0) return undefined
    const [statusLine, ...lines] = this.received.subarray(0, end).toString('latin1').split('\r\n')
    const headers: Record<string, string> = {}
    for (const line of lines) {
      const colon = line.indexOf(':')
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
    }
    let rest = this.received.subarray(end + 4)
    let body: Buffer
    if (head) body = Buffer.alloc(0)
    else if (headers['transfer-encoding'] === 'chunked') {
      const chunks: Buffer[] = []
      for (;;) {
        const lineEnd = rest.indexOf('\r\n')
        if (lineEnd < 0) return undefined
        const size = parseInt(rest.subarray(0, lineEnd).toString(), 16)
        if (rest.length < lineEnd + 2 + size + 2) return undefined
        chunks.push(rest.subarray(lineEnd + 2, lineEnd + 2 + size))
        rest = rest.subarray(lineEnd + 2 + size + 2)
        if (size === 0) break
      }
      body = Buffer.concat(chunks)
    } else {
      const length = Number(headers['content-length'] ?? 0)
      if (rest.length < length) return undefined
      body = rest.subarray(0, length)
      rest = rest.subarray(length)
    }
    this.received = rest
    return { status: Number(statusLine!.split(' ')[1]), headers, body: body.toString('utf8') }
  }
}

function request(method: string, target: string, headers: Record<string, string | number> = {}, body: Buffer | string = ''): [string, Buffer | string] {
  const all = { host: 'localhost', ...(body.length > 0 && { 'content-length': Buffer.byteLength(body) }), ...headers }
  return [`${method} ${target} HTTP/1.1\r\n${Object.entries(all).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n`, body]
}

/** The error a 4xx JSON answer carries, in REST's shape or tRPC's (a batch: its first call's). */
function errorOf(response: RawResponse): { code: string; message: string } {
  assert.match(response.headers['content-type'] ?? '', /application\/json/, `a JSON answer: ${response.body}`)
  type TrpcError = { error: { message: string; data?: { errorCode?: string } } }
  const parsed = JSON.parse(response.body) as { error: string; code: string } | TrpcError | TrpcError[]
  const one = Array.isArray(parsed) ? parsed[0]! : parsed
  if ('code' in one) return { code: one.code, message: one.error }
  return { code: one.error.data?.errorCode ?? '', message: one.error.message }
}

/** `levels` arrays inside each other. */
const nestedArrays = (levels: number) => '['.repeat(levels) + ']'.repeat(levels)
/** `levels` objects inside each other. */
const nestedObjects = (levels: number) => '{"a":'.repeat(levels - 1) + '{}' + '}'.repeat(levels - 1)

describe('hostile input', () => {
  let service: TestService
  const { lines, logger } = captureLog()
  before(async () => {
    service = await startTestService({ API_KEY: KEY, BODY_LIMIT: String(LIMIT) }, { logger })
  })
  after(async () => {
    await service.close()
  })

  /** Nothing the hostile requests did was logged as an error (no 500s, no stack traces). */
  function assertNoErrorsLogged(from: number) {
    const errors = lines.slice(from).filter((line) => (JSON.parse(line) as { level: number }).level >= 50)
    assert.deepEqual(errors, [], 'nothing was logged as an error')
  }

  /** After an answer, the same connection still serves a request at once. */
  async function assertReusable(connection: RawConnection, what: string) {
    connection.send(...request('GET', '/health'))
    const next = await connection.response(`GET /health after ${what}`)
    assert.notEqual(next, 'closed', `the connection was closed after ${what}`)
    assert.equal((next as RawResponse).status, 200)
  }

  const POSTS = [
    { family: 'REST', target: '/api/webhook' },
    { family: 'REST (per-session path)', target: '/api/sessions/default/webhook' },
    { family: 'tRPC', target: '/trpc/webhook.set' },
    { family: 'tRPC batch', target: '/trpc/webhook.set?batch=1' },
    { family: 'Express', target: '/openapi.json' },
  ]

  for (const { family, target } of POSTS) {
    test(`${family}: a gzip body that inflates past the limit is a 413, and the connection goes on at once`, async () => {
      const from = lines.length
      // A bomb (small on the wire), and a big body that compresses badly (most of it still unread
      // when the limit is crossed).
      const bomb = gzipSync(Buffer.from(JSON.stringify({ url: null, padding: ' '.repeat(LIMIT * 512) })))
      const big = gzipSync(Buffer.from(JSON.stringify({ url: null, padding: randomBytes(LIMIT * 16).toString('base64') })))
      assert.ok(bomb.length < LIMIT && big.length > LIMIT * 8)
      const connection = await RawConnection.open(service.url)
      try {
        for (const body of [bomb, big]) {
          connection.send(...request('POST', target, { 'content-type': 'application/json', 'content-encoding': 'gzip', 'x-api-key': KEY }, body))
          const answer = await connection.response(`a gzip body to ${target}`)
          assert.notEqual(answer, 'closed')
          const response = answer as RawResponse
          // tRPC's clients never compress what they send: refused as such.
          const [status, code] = family.startsWith('tRPC') ? [415, 'UNSUPPORTED_MEDIA_TYPE'] : [413, 'PAYLOAD_TOO_LARGE']
          assert.equal(response.status, status, response.body)
          assert.equal(errorOf(response).code, code)
          await assertReusable(connection, `a gzip body to ${target}`)
        }
      } finally {
        connection.close()
      }
      assertNoErrorsLogged(from)
    })

    test(`${family}: a body past the limit is a 413, and the connection goes on at once`, async () => {
      const from = lines.length
      const body = JSON.stringify({ url: null, padding: ' '.repeat(LIMIT * 4) })
      const connection = await RawConnection.open(service.url)
      try {
        connection.send(...request('POST', target, { 'content-type': 'application/json', 'x-api-key': KEY }, body))
        const answer = await connection.response(`a large body to ${target}`)
        assert.notEqual(answer, 'closed')
        const response = answer as RawResponse
        assert.equal(response.status, 413, response.body)
        assert.equal(errorOf(response).code, 'PAYLOAD_TOO_LARGE')
        await assertReusable(connection, `a large body to ${target}`)
      } finally {
        connection.close()
      }
      assertNoErrorsLogged(from)
    })

    for (const [shape, deep] of [
      ['arrays', nestedArrays(10_000)],
      ['objects', nestedObjects(10_000)],
    ] as const) {
      test(`${family}: JSON of ${shape} nested 10,000 deep is a 400 naming the limit, with or without the key`, async () => {
        const from = lines.length
        const connection = await RawConnection.open(service.url)
        try {
          const body = target.includes('batch=1') ? `{"0":${deep}}` : deep
          for (const headers of [{ 'x-api-key': KEY }, {}] as Record<string, string>[]) {
            connection.send(...request('POST', target, { 'content-type': 'application/json', ...headers }, body))
            const answer = await connection.response(`deep JSON to ${target}`)
            assert.notEqual(answer, 'closed')
            const response = answer as RawResponse
            if ('x-api-key' in headers || !family.startsWith('tRPC')) {
              assert.equal(response.status, 400, response.body)
              const error = errorOf(response)
              assert.equal(error.code, 'VALIDATION_ERROR')
              assert.match(error.message, new RegExp(`nested more than ${MAX_JSON_DEPTH} levels`))
            } else {
              // tRPC checks the key first and never looks at the input.
              assert.equal(response.status, 401, response.body)
            }
          }
          await assertReusable(connection, `deep JSON to ${target}`)
        } finally {
          connection.close()
        }
        assertNoErrorsLogged(from)
      })
    }
  }

  test(`the limit is ${MAX_JSON_DEPTH} levels: at it the input is validated as usual, one deeper is refused; brackets in strings do not count`, async () => {
    const connection = await RawConnection.open(service.url)
    try {
      const post = async (body: string) => {
        connection.send(...request('POST', '/api/webhook', { 'content-type': 'application/json', 'x-api-key': KEY }, body))
        return errorOf((await connection.response('a POST')) as RawResponse)
      }
      // The body's object is level 1, the array in `url` level 2.
      const atLimit = await post(`{"url":${nestedArrays(MAX_JSON_DEPTH - 1)}}`)
      assert.equal(atLimit.code, 'VALIDATION_ERROR')
      assert.match(atLimit.message, /^Invalid input: url/)
      const over = await post(`{"url":${nestedArrays(MAX_JSON_DEPTH)}}`)
      assert.match(over.message, /nested more than/)
      const inString = await post(JSON.stringify({ url: `${'['.repeat(1000)}"{{{{\\` }))
      assert.match(inString.message, /^Invalid input: url/)
    } finally {
      connection.close()
    }
  })

  test('tRPC: deep JSON in a query input, a streaming call and a GET batch is a 400 too', async () => {
    const from = lines.length
    const deepInput = encodeURIComponent(nestedArrays(2_000))
    const connection = await RawConnection.open(service.url)
    try {
      for (const [method, target, headers, body] of [
        ['GET', `/trpc/events.list?input=${deepInput}`, {}, ''],
        ['GET', `/trpc/events.list,webhook.get?batch=1&input=${encodeURIComponent(`{"0":${nestedArrays(2_000)}}`)}`, {}, ''],
        ['POST', '/trpc/webhook.set?batch=1', { 'content-type': 'application/json', 'trpc-accept': 'application/jsonl' }, `{"0":${nestedArrays(10_000)}}`],
      ] as const) {
        connection.send(...request(method, target, { 'x-api-key': KEY, ...headers }, body))
        const answer = await connection.response(`${method} ${target.slice(0, 40)}`)
        assert.notEqual(answer, 'closed')
        const response = answer as RawResponse
        assert.ok(response.status === 400 || (headers['trpc-accept'] && response.status === 200), `${response.status} ${response.body.slice(0, 300)}`)
        assert.match(response.body, /nested more than/)
      }
      await assertReusable(connection, 'deep tRPC inputs')
    } finally {
      connection.close()
    }
    assertNoErrorsLogged(from)
  })

  test('request targets that are not paths get a clean 4xx JSON answer', async () => {
    const from = lines.length
    const connection = await RawConnection.open(service.url)
    try {
      for (const method of ['OPTIONS', 'GET', 'POST', 'DELETE']) {
        connection.send(...request(method, '*', { 'x-api-key': KEY, ...(method === 'POST' && { 'content-type': 'application/json' }) }, method === 'POST' ? '{}' : ''))
        const answer = await connection.response(`${method} *`)
        assert.notEqual(answer, 'closed')
        const response = answer as RawResponse
        assert.equal(response.status, 400, `${method} *: ${response.body}`)
        assert.equal(errorOf(response).code, 'VALIDATION_ERROR')
        assert.match(errorOf(response).message, /request target/)
      }
      connection.send(...request('HEAD', '*'))
      assert.equal(((await connection.response('HEAD *', { head: true })) as RawResponse).status, 400)
      await assertReusable(connection, 'odd targets')
    } finally {
      connection.close()
    }
    assertNoErrorsLogged(from)
  })

  test('an absolute-form target is served as its path, on every kind of route', async () => {
    const connection = await RawConnection.open(service.url)
    try {
      for (const target of ['http://localhost/health', 'http://localhost/trpc/health.check', `http://localhost/api/webhook?api_key=${KEY}`, 'http://localhost/openapi.json']) {
        connection.send(...request('GET', target))
        const response = (await connection.response(`GET ${target}`)) as RawResponse
        assert.equal(response.status, 200, `${target}: ${response.body.slice(0, 200)}`)
      }
    } finally {
      connection.close()
    }
  })

  test('malformed percent-encoding anywhere in the target is a 4xx JSON answer', async () => {
    const from = lines.length
    const connection = await RawConnection.open(service.url)
    try {
      for (const target of [
        '/api/%ZZ',
        '/api/events?limit=%ZZ',
        '/api/sessions/%ZZ/status',
        '/api/sessions/%E0%A4%A/status',
        '/trpc/%ZZ',
        '/trpc/events.list?input=%ZZ',
        '/openapi.json/%ZZ',
        '/qr/%ZZ',
        '/%',
      ]) {
        connection.send(...request('GET', target, { 'x-api-key': KEY }))
        const answer = await connection.response(`GET ${target}`)
        assert.notEqual(answer, 'closed', target)
        const response = answer as RawResponse
        assert.ok(response.status >= 400 && response.status < 500, `${target}: ${response.status} ${response.body}`)
        errorOf(response)
      }
    } finally {
      connection.close()
    }
    assertNoErrorsLogged(from)
  })

  test("what Node's HTTP parser refuses is answered in the JSON error shape (not a bare 400), and the connection closed", async () => {
    const from = lines.length
    const cases: Array<[string, string, number, string]> = [
      ['a request line that is not HTTP', 'NOT HTTP AT ALL\r\n\r\n', 400, 'BAD_REQUEST'],
      ['a header line without a colon', 'GET /health HTTP/1.1\r\nhost: localhost\r\nno colon here\r\n\r\n', 400, 'BAD_REQUEST'],
      ['a space inside a header name', 'GET /health HTTP/1.1\r\nhost: localhost\r\nx bad: 1\r\n\r\n', 400, 'BAD_REQUEST'],
      ['headers larger than Node takes', `GET /health HTTP/1.1\r\nhost: localhost\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'HEADERS_TOO_LARGE'],
    ]
    for (const [what, raw, status, code] of cases) {
      const connection = await RawConnection.open(service.url)
      try {
        connection.send(raw)
        const answer = await connection.response(what)
        assert.notEqual(answer, 'closed', what)
        const response = answer as RawResponse
        assert.equal(response.status, status, what)
        assert.equal(response.headers.connection, 'close', what)
        assert.equal(errorOf(response).code, code, what)
        assert.equal(await connection.response(`the close after ${what}`), 'closed')
      } finally {
        connection.close()
      }
    }
    assertNoErrorsLogged(from)
  })
})

describe('open connections are capped (MAX_CONNECTIONS)', () => {
  let service: TestService
  const { lines, logger } = captureLog('info')
  before(async () => {
    service = await startTestService({ MAX_CONNECTIONS: '3' }, { logger })
  })
  after(() => service.close())

  test('past the cap a new connection is closed at once, with one warning; once one closes, a new one is served', async () => {
    const open: RawConnection[] = []
    try {
      for (let i = 0; i < 3; i++) {
        const connection = await RawConnection.open(service.url)
        connection.send(...request('GET', '/health'))
        assert.equal(((await connection.response(`GET /health on connection ${i + 1}`)) as RawResponse).status, 200)
        open.push(connection)
      }
      for (let i = 0; i < 2; i++) {
        const refused = await RawConnection.open(service.url)
        refused.send(...request('GET', '/health'))
        assert.equal(await refused.response('GET /health past the cap'), 'closed')
        refused.close()
      }
      const warnings = lines.filter((line) => line.includes('MAX_CONNECTIONS'))
      assert.equal(warnings.length, 1, 'one warning, not one per refused connection')
      assert.match(warnings[0]!, /"level":40/)
      // The held connections still work.
      open[0]!.send(...request('GET', '/health'))
      assert.equal(((await open[0]!.response('GET /health on a held connection')) as RawResponse).status, 200)
      open.pop()!.close()
      const again = await waitUntil('a connection to be served again', async () => {
        const connection = await RawConnection.open(service.url)
        connection.send(...request('GET', '/health'))
        const answer = await connection.response('GET /health after one closed')
        connection.close()
        return answer === 'closed' ? undefined : answer
      })
      assert.equal(again.status, 200)
    } finally {
      for (const connection of open) connection.close()
    }
  })
})
