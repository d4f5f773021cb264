// GET /api/events/stream (and /api/sessions/{session}/events/stream): the session's events as
// Server-Sent Events. trpc-to-openapi cannot stream, so this small route serves the events.onEvent
// subscription itself, called through the router: the same key check, session, validation, stream
// cap and errors as every other route, and the same stream a tRPC client gets.
//
//   ?type=message,qr     only these types (repeatable)
//   Last-Event-ID: 42    resume right after event 42 (EventSource sends it on reconnect); or ?lastEventId=42
//
// Each event is `id: <log id>`, `event: <type>`, `data: {id, type, timestamp, data}` (the shape
// GET /api/events lists). A comment line (`: heartbeat`) keeps an idle stream open through proxies.
// When the service stops, the stream ends with `event: end` and a reason.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { OpenAPIObject } from 'trpc-to-openapi'
import { z } from 'zod'
import { ApiError } from '../errors.js'
import { streamedEventSchema } from '../events/stream.js'
import { eventTypes, type EventType } from '../events/types.js'
import { appRouter } from '../routers/index.js'
import { createCallerFactory, type Context } from '../trpc.js'
import type { FailedRequest } from './errors.js'

export const EVENT_STREAM_PATH = '/api/events/stream'

const createCaller = createCallerFactory(appRouter)

/** Whether a request (its path rewritten by session-paths.ts) is for the stream. */
export function isEventStreamRequest(url: string): boolean {
  const queryAt = url.indexOf('?')
  return (queryAt < 0 ? url : url.slice(0, queryAt)) === EVENT_STREAM_PATH
}

export function eventStreamRoute(options: { createContext: (req: IncomingMessage) => Context; failed: FailedRequest; heartbeatMs: number }) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET') {
      res.setHeader('allow', 'GET')
      return options.failed(new ApiError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${EVENT_STREAM_PATH}; use GET`), req, res)
    }
    const clientGone = new AbortController()
    res.once('close', () => clientGone.abort())
    let stream: AsyncIterable<unknown>
    try {
      stream = await createCaller(options.createContext(req), { signal: clientGone.signal }).events.onEvent(streamInput(req))
    } catch (error) {
      return options.failed(namedAsSent(error, req), req, res)
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      // nginx buffers responses unless told not to; an event held there is an event late.
      'x-accel-buffering': 'no',
    })
    res.write('retry: 1000\n\n')
    const heartbeat = setInterval(() => {
      // A client that is behind has bytes waiting already; a heartbeat would only add to them.
      if (!res.writableNeedDrain) res.write(': heartbeat\n\n')
    }, options.heartbeatMs)
    try {
      for await (const envelope of stream) {
        const event = (envelope as [string, { id: number; type: string }])[1]
        if (!res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)) await drained(res)
      }
      // The stream ended on its own side: the service is stopping.
      if (!clientGone.signal.aborted) res.end(`event: end\ndata: ${JSON.stringify({ reason: 'the service is stopping; reconnect with Last-Event-ID to resume' })}\n\n`)
    } catch (error) {
      options.failed(error, req, res) // headers are sent: the connection is cut, and a bug is logged
    } finally {
      clearInterval(heartbeat)
      if (!res.writableEnded) res.end()
    }
  }
}

/** The subscription's input from the query and the Last-Event-ID header. */
function streamInput(req: IncomingMessage): { types?: EventType[]; lastEventId?: string } {
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams
  const types = query
    .getAll('type')
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
  const header = req.headers['last-event-id']
  const lastEventId = typeof header === 'string' && header !== '' ? header : (query.get('lastEventId') ?? undefined)
  return { ...(types.length > 0 && { types: types as EventType[] }), ...(lastEventId !== undefined && { lastEventId }) }
}

/** Validation issues name what the caller sent: the `type` parameter, the Last-Event-ID header. */
function namedAsSent(error: unknown, req: IncomingMessage): unknown {
  if (!(error instanceof Error) || !('cause' in error) || !(error.cause instanceof z.ZodError)) return error
  const fromHeader = typeof req.headers['last-event-id'] === 'string'
  const issues = error.cause.issues.map((issue) => {
    const [first] = issue.path
    const path = first === 'types' ? 'type' : first === 'lastEventId' && fromHeader ? 'Last-Event-ID' : issue.path.join('.')
    const message = first === 'types' && issue.code === 'invalid_value' ? `expected one of ${eventTypes.join(', ')}` : issue.message
    return { path, message }
  })
  return new ApiError('VALIDATION_ERROR', `Invalid input: ${issues[0]!.path}: ${issues[0]!.message}`, { issues })
}

function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done)
      res.off('close', done)
      resolve()
    }
    res.once('drain', done)
    res.once('close', done)
  })
}

/** The document cannot learn a streaming route from the router: it is declared here, on both paths. */
export function declareEventStream(document: OpenAPIObject): void {
  // The event schema and the ones it names go to components, where the rest of the document finds them.
  const generated = JSON.parse(
    JSON.stringify(z.toJSONSchema(streamedEventSchema, { target: 'draft-2020-12', unrepresentable: 'any' })).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as { $defs?: Record<string, unknown> }
  document.components ??= {}
  document.components.schemas ??= {}
  for (const [name, schema] of Object.entries(generated.$defs ?? {})) document.components.schemas[name] ??= schema as never
  const operation = (session: boolean) => ({
    operationId: session ? 'events-stream-session' : 'events-stream',
    summary: 'Events live, as Server-Sent Events',
    description:
      'The session\'s events as they are stored, each as `id: <event id>`, `event: <type>`, `data: <the event as JSON>` (the shape of GET /api/events). ' +
      'Reconnect with the `Last-Event-ID` header (EventSource does) to resume right after that event: events still in the log are sent, none twice. ' +
      'An idle stream gets a comment line (`: heartbeat`) every EVENT_STREAM_HEARTBEAT_MS (15 s by default). A slow reader is served from the log rather ' +
      'than from memory. At most EVENT_STREAM_MAX streams are open per process (429 beyond). tRPC clients get the same stream as the `events.onEvent` subscription.',
    tags: ['Events'],
    security: [{ ApiKeyHeader: [] }, { ApiKeyQuery: [] }],
    parameters: [
      ...(session ? [{ name: 'session', in: 'path', required: true, schema: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }, description: 'The session to act on' }] : []),
      { name: 'type', in: 'query', required: false, schema: { type: 'string' }, description: `Only events of these types, comma-separated or repeated: ${eventTypes.join(', ')}` },
      { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^\\d+$' }, description: 'Resume right after this event id' },
      { name: 'lastEventId', in: 'query', required: false, schema: { type: 'string', pattern: '^\\d+$' }, description: 'The same, for clients that cannot set the header' },
    ],
    responses: {
      '200': {
        description: 'The event stream',
        content: {
          'text/event-stream': {
            schema: { type: 'string', description: "Server-Sent Events; each event's data is a StreamedEvent (x-event-data)" },
            'x-event-data': { $ref: '#/components/schemas/StreamedEvent' },
          },
        },
      },
      ...Object.fromEntries(
        [
          ['400', 'Invalid input'],
          ['401', 'Missing or wrong API key'],
          ['403', 'This key reaches another session'],
          ['404', 'No such session'],
          ['429', 'Too many streams are open'],
        ].map(([status, description]) => [status, { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }]),
      ),
    },
  })
  document.paths ??= {}
  document.paths[EVENT_STREAM_PATH] = { get: operation(false) } as never
  document.paths[`/api/sessions/{session}${EVENT_STREAM_PATH.slice('/api'.length)}`] = { get: operation(true) } as never
}
