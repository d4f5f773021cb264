// The REST side of every procedure with OpenAPI meta, through trpc-to-openapi. The library writes
// its own error body; requests it failed are remembered here and their body rewritten into ours.
// Bodies are read by json-body.ts's parser, as Express's routes are, not by the library's own
// reader: one set of rules (size after inflating, nesting depth), and a refused body is read off
// so the connection stays usable (the library's left a compressed body half read, and the
// keep-alive connection hung until it timed out).
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TRPCError } from '@trpc/server'
import { createOpenApiNodeHttpHandler } from 'trpc-to-openapi'
import { describeError } from '../errors.js'
import type { AppRouter } from '../routers/index.js'
import type { Context } from '../trpc.js'
import type { JsonBodyParser } from './json-body.js'

export function restHandler(options: {
  router: AppRouter
  createContext: (req: IncomingMessage) => Context
  jsonBody: JsonBodyParser
  onError: (error: TRPCError, req: IncomingMessage) => void
}): (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void {
  const failures = new WeakMap<IncomingMessage, TRPCError>()
  const handle = createOpenApiNodeHttpHandler({
    router: options.router,
    createContext: ({ req }: { req: IncomingMessage }) => options.createContext(req),
    onError: ({ error, req }: { error: TRPCError; req: IncomingMessage }) => {
      failures.set(req, error)
      options.onError(error, req)
    },
    // The status follows our own error table (e.g. ApiError NOT_CONNECTED -> 503).
    responseMeta: ({ errors }: { errors: TRPCError[] }) => (errors[0] ? { status: describeError(errors[0]).status } : {}),
  } as Parameters<typeof createOpenApiNodeHttpHandler>[0])

  return (req, res, next) => {
    options.jsonBody(req, res, (error) => {
      if (error !== undefined) return next(error)
      // Read above, or not JSON: the library reads a body itself unless `req.body` is set.
      if (!('body' in req)) Object.assign(req, { body: undefined })
      const type = req.headers['content-type']
      if (req.method === 'POST' && isBodyless(req)) {
        // `curl -X POST /api/reconnect` sends no body and no Content-Type, `curl -d ''` an empty
        // form: no input, whatever the type says, not an unsupported media type. It is `{}`, so a
        // procedure whose fields are all optional runs, and one with a required field names it.
        req.headers['content-type'] = 'application/json'
        Object.assign(req, { body: {} })
      }
      // The library takes a body only for exactly `application/json`; `; charset=utf-8` and
      // `application/*+json` are JSON all the same.
      else if (type && type !== 'application/json' && JSON_TYPE.test(type)) req.headers['content-type'] = 'application/json'
      const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse
      res.end = ((chunk?: unknown) => {
        const failure = failures.get(req)
        if (failure) return end(JSON.stringify(bodyOf(failure, type)))
        return end(chunk)
      }) as typeof res.end
      handle(req, res, next).catch(next)
    })
  }
}

/** Our error body; the library's 415 sentence (with a quote it never closes) is replaced by one that says what to send. */
function bodyOf(failure: TRPCError, type: string | undefined) {
  const { body } = describeError(failure)
  if (body.code === 'UNSUPPORTED_MEDIA_TYPE' && type !== undefined) {
    body.error = `Unsupported content type ${JSON.stringify(type)}: send JSON, with Content-Type: application/json`
  }
  return body
}

const JSON_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i

function isBodyless(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0'
}
