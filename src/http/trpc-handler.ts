// The /trpc endpoint. Plain queries and mutations (what httpLink and httpBatchLink send) are answered
// here, straight on node's req/res; everything else goes to tRPC's own node handler.
//
// Why not tRPC's handler for everything: it turns each request into a Fetch Request (headers copied,
// the body wrapped in a web stream, AbortSignal.any per call) and pipes the answer back through a
// WritableStream. On this service that conversion cost more than the procedures themselves: tRPC
// answered at 0.42 of a bare Express handler doing the same work, and 1.5 through this path
// (bench/RESULTS.md). The protocol is tRPC's, so the pieces that define it are tRPC's too: procedure
// lookup, the error shape (our errorFormatter runs), the status of a batch and the transformer.
//
// Handed to tRPC's handler, its input held to the same limits first (handOver):
//   - methods other than GET and POST (HEAD answers 204 there);
//   - streaming calls (httpBatchStreamLink's `trpc-accept`) and subscriptions (SSE);
//   - POST bodies that are not JSON (form data, octet streams, a body with no content type: 415 there);
//   - a batch that names a subscription.
// Not supported here, so adding it means adding it here: `responseMeta` and `allowMethodOverride`.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { TRPCError, type AnyRouter, type inferRouterContext } from '@trpc/server'
import { createHTTPHandler } from '@trpc/server/adapters/standalone'
import {
  getErrorShape,
  getHTTPStatusCode,
  getHTTPStatusCodeFromError,
  getProcedureAtPath,
  getTRPCErrorFromUnknown,
  transformTRPCResponse,
  urlPathToProcedurePath,
  type AnyProcedure,
  type TRPCResponse,
} from '@trpc/server/unstable-core-do-not-import'
import { assertJsonDepth } from './json-body.js'

export interface TrpcHandlerOptions<R extends AnyRouter> {
  router: R
  /** Where the endpoint is mounted, with both slashes: '/trpc/'. */
  basePath: string
  createContext: (req: IncomingMessage) => inferRouterContext<R> | Promise<inferRouterContext<R>>
  /** Largest request body in bytes; larger ones are answered 413 (PAYLOAD_TOO_LARGE) per call. */
  maxBodySize: number
  /** Called once for every call that failed, as tRPC's own onError is. */
  onError?: (error: TRPCError, req: IncomingMessage) => void
  /** What answers the requests not handled here; tRPC's own handler for the same router by default. */
  fallback?: RequestListener
}

const ACCEPTED_METHOD = { query: 'GET', mutation: 'POST' } as const

interface Call {
  path: string
  procedure: AnyProcedure | null
}

export function createTrpcHandler<R extends AnyRouter>(opts: TrpcHandlerOptions<R>): RequestListener {
  const config = opts.router._def._config
  const standard =
    opts.fallback ??
    createHTTPHandler({
      router: opts.router,
      basePath: opts.basePath,
      createContext: ({ req }) => opts.createContext(req),
      maxBodySize: opts.maxBodySize,
      onError: ({ error, req }) => opts.onError?.(error, req),
    })

  /** The calls a plain request names, or undefined when it is for tRPC's own handler. */
  async function plainCalls(req: IncomingMessage, pathPart: string, isBatch: boolean): Promise<Call[] | undefined> {
    const decoded = decodePath(pathPart)
    if (req.method !== 'GET' && req.method !== 'POST') return undefined
    if (req.headers['trpc-accept'] !== undefined || req.headers.accept?.includes('text/event-stream')) return undefined
    // A mutation with no input (`curl -X POST /trpc/session.reconnect`) needs no content type.
    if (req.method === 'POST' && !isJson(req.headers['content-type']) && !isBodyless(req)) return undefined
    const paths = urlPathToProcedurePath(decoded, config.pathSeparator ?? '.')
    const calls = await Promise.all(
      (isBatch ? paths.split(',') : [paths]).map(async (path) => ({ path, procedure: (await getProcedureAtPath(opts.router, path)) as AnyProcedure | null })),
    )
    return calls.some((call) => call.procedure?._def.type === 'subscription') ? undefined : calls
  }

  /**
   * Reads the inputs of every call: the `input` query parameter of a GET, the JSON body of a POST,
   * held to json-body.ts's nesting limit before they are parsed.
   */
  async function readInputs(req: IncomingMessage, search: URLSearchParams, isBatch: boolean, count: number): Promise<unknown[]> {
    const query = search.get('input')
    const raw = req.method === 'GET' ? (query === null ? undefined : Buffer.from(query)) : await readBody(req, opts.maxBodySize)
    if (raw) assertJsonDepth(raw)
    let parsed: unknown
    try {
      parsed = raw?.length ? JSON.parse(raw.toString('utf8')) : undefined
    } catch (cause) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: cause instanceof Error ? cause.message : 'Invalid input', cause })
    }
    const deserialize = (value: unknown) => (value === undefined ? undefined : config.transformer.input.deserialize(value))
    if (parsed === undefined) return []
    if (!isBatch) return [deserialize(parsed)]
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new TRPCError({ code: 'BAD_REQUEST', message: '"input" needs to be an object when doing a batch call' })
    }
    return Array.from({ length: count }, (_, i) => deserialize((parsed as Record<string, unknown>)[i]))
  }

  /**
   * Hands a request to tRPC's own handler, held to the same input rules as the calls answered here:
   * a JSON body is read and checked first, and given to it as `req.body` (which it takes as it is).
   */
  async function handOver(req: IncomingMessage, res: ServerResponse, search: URLSearchParams) {
    const input = search.get('input')
    if (input) assertJsonDepth(Buffer.from(input))
    if (req.method === 'POST' && isJson(req.headers['content-type'])) {
      const body = await readBody(req, opts.maxBodySize)
      assertJsonDepth(body)
      Object.assign(req, { body: body.toString('utf8') })
    }
    await standard(req, res)
  }

  async function answer(req: IncomingMessage, res: ServerResponse, calls: Call[], search: URLSearchParams, isBatch: boolean) {
    // Read (and bound) the body at once, whatever the calls turn out to be, so the connection stays usable.
    const inputs = readInputs(req, search, isBatch, calls.length)
    inputs.catch(() => undefined) // reported per call below, as tRPC does
    const ctx = await opts.createContext(req)
    const aborted = new AbortController()
    res.once('close', () => {
      if (!res.writableFinished) aborted.abort()
    })

    const outcomes = await Promise.all(
      calls.map(async ({ path, procedure }, batchIndex): Promise<{ data: unknown } | { error: TRPCError; input: unknown }> => {
        let input: unknown
        try {
          if (!procedure) throw new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${path}"` })
          const type = procedure._def.type as keyof typeof ACCEPTED_METHOD
          if (ACCEPTED_METHOD[type] !== req.method) {
            res.setHeader('allow', ACCEPTED_METHOD[type])
            throw new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `Unsupported ${req.method}-request to ${type} procedure at path "${path}"` })
          }
          const getRawInput = async () => (input = (await inputs)[batchIndex])
          return { data: await procedure({ path, getRawInput, ctx, type, signal: aborted.signal, batchIndex }) }
        } catch (cause) {
          const error = getTRPCErrorFromUnknown(cause)
          opts.onError?.(error, req)
          return { error, input }
        }
      }),
    )

    const responses = outcomes.map((outcome, i): TRPCResponse => {
      if ('data' in outcome) return { result: { data: outcome.data } }
      const { path, procedure } = calls[i]!
      return { error: getErrorShape({ config, ctx, error: outcome.error, input: outcome.input, path, type: procedure?._def.type ?? 'unknown' }) }
    })
    const body = transformTRPCResponse(config, isBatch ? responses : responses[0]!)
    res.statusCode = getHTTPStatusCode(
      responses,
      outcomes.map((outcome) => ('error' in outcome ? outcome.error : undefined)),
    )
    appendVary(res, 'trpc-accept, accept')
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(body))
  }

  return (req, res) => {
    const url = req.url ?? '/'
    const queryAt = url.indexOf('?')
    const search = new URLSearchParams(queryAt >= 0 ? url.slice(queryAt + 1) : '')
    const isBatch = search.get('batch') === '1'
    const pathPart = url.slice(opts.basePath.length, queryAt >= 0 ? queryAt : undefined)
    plainCalls(req, pathPart, isBatch)
      .then((calls) => (calls ? answer(req, res, calls, search, isBatch) : handOver(req, res, search)))
      .catch((cause: unknown) => {
        // An input handOver refused, or a bug (a throwing errorFormatter or createContext): answered
        // as tRPC answers a request that failed before any call ran. A bug's answer is built by
        // hand, since the errorFormatter may be what failed.
        const error = getTRPCErrorFromUnknown(cause)
        opts.onError?.(error, req)
        if (res.headersSent) return void res.end()
        res.statusCode = getHTTPStatusCodeFromError(error)
        appendVary(res, 'trpc-accept, accept')
        res.setHeader('content-type', 'application/json')
        const shape =
          res.statusCode < 500
            ? getErrorShape({ config, ctx: undefined, error, input: undefined, path: undefined, type: 'unknown' })
            : { message: error.message, code: -32603, data: { code: 'INTERNAL_SERVER_ERROR', httpStatus: 500 } }
        res.end(JSON.stringify(transformTRPCResponse(config, { error: shape })))
      })
  }
}

/**
 * The procedure path, percent-decoded. tRPC's own handler refuses a malformed one with the same 400,
 * but as text/plain: it is refused here, for every method, so that the answer is JSON.
 */
function decodePath(pathPart: string): string {
  try {
    return decodeURIComponent(pathPart)
  } catch {
    throw new TRPCError({ code: 'BAD_REQUEST', message: `Invalid URL-encoding in path "${pathPart}"` })
  }
}

/** Adds to Vary: the cross-site guard may have put Origin there already. */
function appendVary(res: ServerResponse, fields: string): void {
  const current = res.getHeader('vary')
  res.setHeader('vary', current ? `${String(current)}, ${fields}` : fields)
}

/** No body at all: no Content-Length (or 0) and no Transfer-Encoding. */
function isBodyless(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] === undefined && (req.headers['content-length'] ?? '0') === '0'
}

/** application/json, with or without parameters, any case (media types are case-insensitive). */
function isJson(contentType: string | undefined): boolean {
  return contentType?.split(';', 1)[0]!.trim().toLowerCase() === 'application/json'
}

/**
 * The body; past `limit` bytes the rest is drained unread and a PAYLOAD_TOO_LARGE error thrown. A
 * compressed body is drained and refused: tRPC's clients never compress what they send.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const encoding = req.headers['content-encoding']
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    req.resume()
    return Promise.reject(new TRPCError({ code: 'UNSUPPORTED_MEDIA_TYPE', message: `Compressed request bodies (${encoding}) are not accepted on /trpc` }))
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) return void chunks.push(chunk)
      req.off('data', onData)
      req.resume()
      chunks.length = 0
      reject(new TRPCError({ code: 'PAYLOAD_TOO_LARGE' }))
    }
    req.on('data', onData)
    req.once('end', () => resolve(Buffer.concat(chunks)))
    req.once('error', reject)
  })
}
