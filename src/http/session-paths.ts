// Every session operation is defined once, with the wsgo contract's path (/api/send/text), and is
// also reachable per session (/api/sessions/{session}/send/text). Here both meet: a request to a
// per-session path is served by the contract path's handler with the session taken from the path,
// and the OpenAPI document lists each operation under both paths.
import type { IncomingMessage } from 'node:http'
import type { OpenAPIObject } from 'trpc-to-openapi'
import { DEFAULT_SESSION } from '../session/names.js'

const sessionOf = new WeakMap<IncomingMessage, string>()

/** The sessions router's own paths under /api/sessions/{session}: not rewritten. */
const OWN_PATHS = /^\/(keys)(\/|\?|$)/

/**
 * Gives the request its session: `/api/sessions/{session}/<rest>` is rewritten to `/api/<rest>`
 * with that session, and the contract's other `/api/...` paths act on `default`.
 */
export function scopeRequest(req: IncomingMessage): void {
  const url = req.url ?? '/'
  const scoped = /^\/api\/sessions\/([^/?]+)(\/[^?]*)?(\?.*)?$/.exec(url)
  if (scoped) {
    const [, name, rest, query = ''] = scoped
    if (!rest || rest === '/' || OWN_PATHS.test(rest)) return
    let session: string
    try {
      session = decodeURIComponent(name!)
    } catch {
      session = name!
    }
    sessionOf.set(req, session)
    req.url = `/api${rest}${query}`
    return
  }
  if (url.startsWith('/api/') && !url.startsWith('/api/sessions')) sessionOf.set(req, DEFAULT_SESSION)
}

/** The session a REST request acts on, when its path names one (or is a contract path). */
export const pathSessionOf = (req: IncomingMessage): string | undefined => sessionOf.get(req)

type Parameter = { name?: string; in?: string }
type Operation = { operationId?: string; parameters?: Parameter[]; requestBody?: { content?: Record<string, { schema?: JsonSchema }> } }
type JsonSchema = { properties?: Record<string, unknown>; required?: string[]; $ref?: string }

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const

/**
 * The contract's session operations lose the `session` field of the tRPC input (their path says
 * which session), and each gains a copy at /api/sessions/{session}/... with a path parameter.
 */
export function addSessionPaths(document: OpenAPIObject): void {
  const paths = document.paths ?? {}
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/api/') || path.startsWith('/api/sessions')) continue
    const operations = item as Record<string, Operation>
    let scoped = false
    for (const method of METHODS) {
      const operation = operations[method]
      if (!operation || !dropSessionField(operation)) continue
      scoped = true
    }
    if (!scoped) continue
    const copy: Record<string, Operation> = {}
    for (const method of METHODS) {
      const operation = operations[method]
      if (!operation) continue
      copy[method] = {
        ...structuredClone(operation),
        ...(operation.operationId && { operationId: `${operation.operationId}-session` }),
        parameters: [
          { name: 'session', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }, description: 'The session to act on' } as Parameter,
          ...(operation.parameters ?? []),
        ],
      }
    }
    paths[`/api/sessions/{session}${path.slice('/api'.length)}`] = copy
  }
}

/** Removes `session` from an operation's query parameters or body schema; whether it had one. */
function dropSessionField(operation: Operation): boolean {
  let found = false
  if (operation.parameters) {
    const before = operation.parameters.length
    operation.parameters = operation.parameters.filter((p) => !(p.in === 'query' && p.name === 'session'))
    found = operation.parameters.length !== before
  }
  for (const media of Object.values(operation.requestBody?.content ?? {})) {
    const schema = media.schema
    if (schema?.properties && 'session' in schema.properties) {
      delete schema.properties.session
      schema.required = schema.required?.filter((name) => name !== 'session')
      found = true
    }
  }
  return found
}
