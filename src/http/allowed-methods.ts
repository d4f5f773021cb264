// Which methods a path answers, from the OpenAPI document (every REST operation, the per-session
// copies included) and the few routes outside it. A request for a known path with another method is
// answered 405 with an `Allow` header (RFC 9110, 15.5.6) rather than 404, which would say the path
// does not exist; OPTIONS without CORS headers asks exactly this question, and gets 204 with Allow.
import type { IncomingMessage } from 'node:http'
import type { RequestHandler } from 'express'
import type { OpenAPIObject } from 'trpc-to-openapi'

const DOCUMENT_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const

/** `/api/sessions/{session}/keys/{id}` -> a pattern matching `/api/sessions/sales/keys/k1`. */
function pathPattern(template: string): RegExp {
  const escaped = template.split(/\{[^}]+\}/).map((part) => part.replace(/[.*+?^$()|[\]\\]/g, '\\$&'))
  return new RegExp(`^${escaped.join('[^/]+')}$`)
}

/**
 * A handler for the end of the routes: 405 (or 204 for OPTIONS) with Allow when the path is known,
 * else on to the 404. `extra` names the routes outside the document, e.g. `{'/qr': ['GET']}`.
 */
export function methodNotAllowed(document: OpenAPIObject, extra: Record<string, string[]>, sentPath: (req: IncomingMessage) => string): RequestHandler {
  const routes: Array<{ pattern: RegExp; methods: string[] }> = []
  for (const [template, item] of Object.entries(document.paths ?? {})) {
    const methods = DOCUMENT_METHODS.filter((method) => (item as Record<string, unknown>)[method] !== undefined).map((method) => method.toUpperCase())
    routes.push({ pattern: pathPattern(template), methods })
  }
  for (const [path, methods] of Object.entries(extra)) routes.push({ pattern: pathPattern(path), methods })

  return (req, res, next) => {
    // Per-session paths are rewritten to the contract's before routing; either form is in the document.
    const methods = new Set(routes.filter((route) => route.pattern.test(req.path)).flatMap((route) => route.methods))
    if (methods.size === 0 || methods.has(req.method)) return next()
    const allow = [...methods, 'OPTIONS'].join(', ')
    res.setHeader('allow', allow)
    if (req.method === 'OPTIONS') return void res.status(204).end()
    res.status(405).json({ error: `${req.method} is not allowed on ${sentPath(req)}; it answers ${[...methods].join(', ')}`, code: 'METHOD_NOT_ALLOWED' })
  }
}
