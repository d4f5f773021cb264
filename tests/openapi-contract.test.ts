// A contract tester for the served OpenAPI document: it walks every operation of /openapi.json and
// sends the documented example request, and invalid ones (no key, a required field missing, a field
// of the wrong type, a value outside an enum), to the running service: once with WhatsApp paired
// (the stand-in) and once with an API key and no WhatsApp reachable. Every answer's status must be
// documented for that operation and its JSON body must validate (ajv, JSON Schema 2020-12) against
// the documented schema; a documented request must never get 400 (nor 500). Examples in the
// document must fit their own schemas.
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import addFormatsModule from 'ajv-formats'
import { startTestService, type TestService } from './support/service.js'
import { startWithStandIn, type WhatsAppHarness } from './support/whatsapp.js'

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => void
const DOC_ID = 'https://wsgo.invalid/openapi.json'
const KEY = 'contract-key'

type Schema = Record<string, unknown>
type Parameter = { name: string; in: string; required?: boolean; schema?: Schema; example?: unknown }
type Media = { schema?: Schema; example?: unknown }
type Operation = {
  operationId?: string
  parameters?: Parameter[]
  requestBody?: { content?: Record<string, Media> }
  responses: Record<string, { content?: Record<string, Media> }>
}
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, Schema> }; webhooks?: Record<string, { post: Operation }> }
type Call = { method: string; path: string; operation: Operation; query: Record<string, string>; body?: unknown; rawBody?: string; key?: string | undefined }

/** Validators for the document's schemas, whose `#/components/...` refs resolve against the document itself. */
function validatorsFor(document: Document) {
  const ajv = new Ajv2020({ strict: false, allErrors: true })
  addFormats(ajv)
  ajv.addSchema({ $id: DOC_ID, components: document.components })
  const cache = new Map<Schema, ValidateFunction>()
  return (schema: Schema): ValidateFunction => {
    let validate = cache.get(schema)
    if (!validate) {
      const absolute = JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`)) as Schema
      validate = ajv.compile(absolute)
      cache.set(schema, validate)
    }
    return validate
  }
}

const operationsOf = (document: Document) =>
  Object.entries(document.paths)
    // The per-session copies are the same operations (checked once, below, through one of them).
    .filter(([path]) => !path.startsWith('/api/sessions/{session}/') || path.startsWith('/api/sessions/{session}/keys'))
    .flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })))
    // The event stream is a long-lived text/event-stream (tests/events-stream.test.ts).
    .filter(({ path }) => path !== '/api/events/stream')

/** The documented example request of an operation. */
function exampleCall(method: string, path: string, operation: Operation, key: string | undefined): Call {
  let url = path
  const query: Record<string, string> = {}
  for (const parameter of operation.parameters ?? []) {
    if (parameter.in === 'path') url = url.replace(`{${parameter.name}}`, encodeURIComponent(String(parameter.example)))
    else if (parameter.in === 'query' && parameter.required && parameter.example !== undefined) query[parameter.name] = String(parameter.example)
  }
  const body = operation.requestBody?.content?.['application/json']?.example
  return { method, path: url, operation, query, body, key }
}

async function send(base: string, call: Call): Promise<{ status: number; type: string; text: string }> {
  const url = new URL(call.path, base)
  for (const [name, value] of Object.entries(call.query)) url.searchParams.set(name, value)
  const headers: Record<string, string> = {}
  if (call.key) headers['x-api-key'] = call.key
  let body: string | undefined
  if (call.rawBody !== undefined || call.body !== undefined) {
    headers['content-type'] = 'application/json'
    body = call.rawBody ?? JSON.stringify(call.body)
  }
  const res = await fetch(url, { method: call.method, headers, body, signal: AbortSignal.timeout(20_000) })
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() }
}

/** Sends the call and checks the answer against the document; returns the status. */
async function check(base: string, call: Call, validator: (schema: Schema) => ValidateFunction): Promise<number> {
  const answer = await send(base, call)
  const where = `${call.method} ${call.path}${Object.keys(call.query).length ? `?${new URLSearchParams(call.query)}` : ''} ${JSON.stringify(call.body ?? call.rawBody ?? '').slice(0, 120)}`
  const response = call.operation.responses[String(answer.status)]
  assert.ok(response, `${where}: status ${answer.status} is not documented (documented: ${Object.keys(call.operation.responses)}); body ${answer.text.slice(0, 300)}`)
  if (answer.type.startsWith('application/json')) {
    const schema = response.content?.['application/json']?.schema
    assert.ok(schema, `${where}: a JSON ${answer.status} answer, documented without a JSON body`)
    const validate = validator(schema)
    assert.ok(validate(JSON.parse(answer.text)), `${where}: the ${answer.status} body ${answer.text.slice(0, 300)} does not fit the document: ${JSON.stringify(validate.errors?.slice(0, 3))}`)
  } else {
    const documented = Object.keys(response.content ?? {})
    assert.ok(documented.some((type) => answer.type.startsWith(type)), `${where}: content-type ${answer.type} not documented for ${answer.status} (${documented})`)
  }
  return answer.status
}

/** Invalid variants of an example request: each must be answered 400 (or 401 without the key). */
function invalidCalls(call: Call): Array<{ what: string; call: Call; expect: number }> {
  const calls: Array<{ what: string; call: Call; expect: number }> = []
  const security = (call.operation as { security?: unknown[] }).security
  if (security === undefined || security.length > 0) calls.push({ what: 'no API key', call: { ...call, key: undefined }, expect: 401 })
  const body = call.body as Record<string, unknown> | undefined
  const schema = call.operation.requestBody?.content?.['application/json']?.schema as { required?: string[] } | undefined
  if (body && typeof body === 'object') {
    const required = schema?.required ?? []
    if (required.length) {
      const { [required[0]!]: _dropped, ...rest } = body
      calls.push({ what: `without ${required[0]}`, call: { ...call, body: rest }, expect: 400 })
    }
    const first = Object.keys(body)[0]
    if (first) calls.push({ what: `${first} of the wrong type`, call: { ...call, body: { ...body, [first]: typeof body[first] === 'number' ? 'x' : 12345 } }, expect: 400 })
    calls.push({ what: 'broken JSON', call: { ...call, body: undefined, rawBody: '{"oops' }, expect: 400 })
  }
  for (const parameter of call.operation.parameters ?? []) {
    const values = (parameter.schema as { enum?: unknown[] } | undefined)?.enum
    if (parameter.in === 'query' && values) calls.push({ what: `${parameter.name} outside its enum`, call: { ...call, query: { ...call.query, [parameter.name]: 'not-a-value' } }, expect: 400 })
  }
  return calls
}

/** Runs one check; its failure is added to the list, so one run reports every mismatch. */
async function collect(problems: string[], run: () => Promise<void>): Promise<void> {
  try {
    await run()
  } catch (error) {
    problems.push(error instanceof Error ? error.message.split('\n')[0]! : String(error))
  }
}

async function fetchDocument(base: string): Promise<Document> {
  return (await (await fetch(`${base}/openapi.json`)).json()) as Document
}

describe('the OpenAPI document is exact', { timeout: 180_000 }, () => {
  let document: Document
  let validator: (schema: Schema) => ValidateFunction
  let keyed: TestService
  let paired: WhatsAppHarness

  before(async () => {
    keyed = await startTestService({ API_KEY: KEY })
    document = await fetchDocument(keyed.url)
    validator = validatorsFor(document)
    paired = await startWithStandIn()
    await paired.pair()
  })
  after(async () => {
    await keyed?.close()
    await paired?.close()
  })

  test('every example fits its schema (requests, responses, webhook payloads)', () => {
    const problems: string[] = []
    const checkMedia = (where: string, media: Media | undefined) => {
      if (!media?.schema) return
      if (media.example === undefined) return void problems.push(`${where}: no example`)
      const validate = validator(media.schema)
      if (!validate(media.example)) problems.push(`${where}: ${JSON.stringify(validate.errors?.slice(0, 2))}`)
    }
    const everyOperation = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, operation]) => ({ method, path, operation })))
    for (const { method, path, operation } of everyOperation) {
      const where = `${method} ${path}`
      checkMedia(`${where} request`, operation.requestBody?.content?.['application/json'])
      for (const [status, response] of Object.entries(operation.responses)) checkMedia(`${where} ${status}`, response.content?.['application/json'])
      for (const parameter of operation.parameters ?? []) {
        if (parameter.required && parameter.example === undefined) problems.push(`${where} parameter ${parameter.name}: no example`)
      }
    }
    for (const [event, item] of Object.entries(document.webhooks ?? {})) checkMedia(`webhook ${event}`, item.post.requestBody?.content?.['application/json'])
    assert.deepEqual(problems, [])
  })

  test('with an API key and WhatsApp unreachable: every answer is documented, no documented request is refused', async () => {
    const problems: string[] = []
    for (const { method, path, operation } of operationsOf(document)) {
      const call = exampleCall(method, path, operation, KEY)
      await collect(problems, async () => {
        const status = await check(keyed.url, call, validator)
        assert.ok(status !== 400 && status !== 500, `${method} ${path}: the documented example got ${status}`)
      })
      for (const invalid of invalidCalls(call)) {
        await collect(problems, async () => {
          const got = await check(keyed.url, invalid.call, validator)
          assert.equal(got, invalid.expect, `${method} ${path} ${invalid.what}: expected ${invalid.expect}, got ${got}`)
        })
      }
    }
    assert.deepEqual(problems, [])
  })

  test('paired with WhatsApp (the stand-in): every answer is documented, no documented request is refused', async () => {
    // Logging out and deleting go last: the others need the paired session.
    const last = (op: { path: string }) => (/\/logout$|^\/api\/sessions\/\{session\}$/.test(op.path) ? 1 : 0)
    const operations = operationsOf(document).sort((a, b) => last(a) - last(b))
    const problems: string[] = []
    for (const { method, path, operation } of operations) {
      await collect(problems, async () => {
        const status = await check(paired.url, exampleCall(method, path, operation, undefined), validator)
        assert.ok(status !== 400 && status !== 500, `${method} ${path}: the documented example got ${status}`)
      })
    }
    assert.deepEqual(problems, [])
    // One per-session copy, to check the copies carry the same answers.
    const scoped = document.paths['/api/sessions/{session}/status']?.get
    assert.ok(scoped)
    assert.equal(await check(paired.url, exampleCall('GET', '/api/sessions/{session}/status', scoped, undefined), validator), 200)
  })
})
