// EXPERIMENT, not used by the service or the bench: the tRPC HTTP protocol for queries and
// mutations (batched or not, no transformer, no streaming) straight on node's req/res, calling the
// procedures with callProcedure, without tRPC's Fetch Request/Response conversion. Anything else
// (httpBatchStreamLink's trpc-accept header, other methods or content types) goes to `fallback`.
// Compared with the service's handler by experiments/trpc-lite-compare.ts; see RESULTS.md.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { TRPCError } from '@trpc/server'
import { getErrorShape, getProcedureAtPath, getTRPCErrorFromUnknown, type AnyRouter } from '@trpc/server/unstable-core-do-not-import'

export function trpcLite<R extends AnyRouter>(opts: { router: R; basePath: string; createContext: (req: IncomingMessage) => unknown; maxBodySize: number; fallback: RequestListener }): RequestListener {
  const config = opts.router._def._config
  const readBody = (req: IncomingMessage) =>
    new Promise<string>((resolve, reject) => {
      const chunks: Buffer[] = []
      let size = 0
      req.on('data', (c: Buffer) => {
        size += c.length
        if (size > opts.maxBodySize) reject(new TRPCError({ code: 'PAYLOAD_TOO_LARGE' }))
        else chunks.push(c)
      })
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      req.on('error', reject)
    })
  return (req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/'
    const q = url.indexOf('?')
    const search = q >= 0 ? new URLSearchParams(url.slice(q + 1)) : undefined
    const isBatch = search?.get('batch') === '1'
    const type = req.method === 'GET' ? 'query' : req.method === 'POST' ? 'mutation' : undefined
    if (!type || req.headers['trpc-accept'] || (req.method === 'POST' && !String(req.headers['content-type'] ?? '').startsWith('application/json'))) return opts.fallback(req, res)
    const paths = decodeURIComponent(url.slice(opts.basePath.length, q >= 0 ? q : undefined)).split(',')
    void (async () => {
      let inputs: Record<string, unknown> = {}
      let ctx: unknown
      let failure: TRPCError | undefined
      try {
        const raw = type === 'query' ? (search?.get('input') ?? undefined) : await readBody(req)
        let parsed: unknown
        try {
          parsed = raw ? (JSON.parse(raw) as unknown) : undefined
        } catch (cause) {
          throw new TRPCError({ code: 'BAD_REQUEST', message: (cause as Error).message, cause })
        }
        inputs = isBatch ? ((parsed ?? {}) as Record<string, unknown>) : { 0: parsed }
        ctx = await opts.createContext(req)
      } catch (cause) {
        failure = getTRPCErrorFromUnknown(cause)
      }
      const results = await Promise.all(
        paths.map(async (path, i) => {
          const input = inputs[i]
          try {
            if (failure) throw failure
            const procedure = (await getProcedureAtPath(opts.router, path)) as { _def: { type: string }; (o: object): Promise<unknown> } | null
            if (!procedure) throw new TRPCError({ code: 'NOT_FOUND', message: `No procedure found on path "${path}"` })
            if (procedure._def.type !== type) {
              throw new TRPCError({ code: 'METHOD_NOT_SUPPORTED', message: `Unsupported ${req.method}-request to ${procedure._def.type} procedure at path "${path}"` })
            }
            const data = await procedure({ path, getRawInput: async () => input, ctx, type, signal: undefined, batchIndex: i })
            return { status: 200, body: { result: { data } } as object }
          } catch (cause) {
            const error = getTRPCErrorFromUnknown(cause)
            const shape = getErrorShape({ config, error, type, path, input, ctx }) as { data: { httpStatus?: number } }
            return { status: shape.data.httpStatus ?? 500, body: { error: shape } as object }
          }
        }),
      )
      const first = results[0]!.status
      res.statusCode = results.every((r) => r.status === first) ? first : 207
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(isBatch ? results.map((r) => r.body) : results[0]!.body))
    })()
  }
}
