// How each kind of request reaches the one router.
//   /trpc/*          typed tRPC endpoint (trpc-handler.ts, in front of Express: it parses its own
//                    bodies and needs none of Express's machinery, which costs a third)
//   /api/events/stream  the events live as Server-Sent Events (event-stream.ts: trpc-to-openapi cannot stream)
//   /api/*, /health  REST paths of the same procedures (trpc-to-openapi); per-session paths
//                    /api/sessions/{session}/... are the contract's paths for that session
//                    (session-paths.ts)
//   /openapi.json    generated document, /docs its interactive page (served offline)
//   /metrics         Prometheus' text format (metrics-route.ts), gated by METRICS_KEY or API_KEY
//   /qr              the pairing page for a browser (public; its data comes from /api); `/` leads there
// Before any of them: the service's own webhook deliveries are refused (webhook-loop.ts); with no
// key on loopback, requests addressed to another host name (DNS rebinding, host-check.ts); requests
// from other sites' pages that would change something, unless CORS_ORIGINS allows them
// (cross-site.ts); a request target that is not a path (`OPTIONS *`) is answered 400.
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import express, { type Express } from 'express'
import type { TRPCError } from '@trpc/server'
import swaggerUi from 'swagger-ui-express'
import { ApiError, describeError } from '../errors.js'
import { redactUrl } from '../logger.js'
import { appRouter } from '../routers/index.js'
import type { Services } from '../services.js'
import { keyMatches, type Context } from '../trpc.js'
import { methodNotAllowed } from './allowed-methods.js'
import { crossSiteGuard } from './cross-site.js'
import { errorHandler, failedRequest, notFound } from './errors.js'
import { hostCheck } from './host-check.js'
import { INTERNAL_HEADER, internalSecret } from './forward.js'
import { jsonBodyParser, type JsonBodyParser } from './json-body.js'
import { addSessionPaths, pathSessionOf, scopeRequest } from './session-paths.js'
import { buildOpenApiDocument } from './openapi.js'
import { restHandler } from './rest.js'
import { declareQrFormats, qrRoute } from './qr.js'
import { qrPage } from './qr-page.js'
import { createTrpcHandler } from './trpc-handler.js'
import { declareEventStream, eventStreamRoute, isEventStreamRequest } from './event-stream.js'
import { isWebhookDelivery, refuseWebhookDelivery } from './webhook-loop.js'
import { declareMetrics, isMetricsRequest, metricsRoute } from './metrics-route.js'
import { declareIdempotencyKey } from '../idempotency/openapi.js'
import { declareMediaBytes, isMediaDownload, mediaDownloadRoute } from '../media/http.js'
import { installErrorWording } from './wording.js'

export const API_VERSION = '1.0.0'

/** Each request's path as the caller sent it (per-session paths are rewritten for routing), for what the answer names. */
const sentPaths = new WeakMap<IncomingMessage, string>()

function presentedKey(req: IncomingMessage): string | undefined {
  const header = req.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('api_key')
  return query ?? undefined
}

function headerOf(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name]
  return typeof value === 'string' ? value : undefined
}

/** The server's request listener: /trpc/* to tRPC, everything else to the Express app. */
export function createRequestListener(services: Services): RequestListener {
  const { config, logger } = services
  installErrorWording()
  const secret = internalSecret(config)
  // Calls forwarded by another process carry the hop's secret (any value in an open deployment).
  const isForwarded = (req: IncomingMessage) => {
    const header = req.headers[INTERNAL_HEADER]
    return typeof header === 'string' && (secret === undefined || keyMatches(header, secret))
  }
  const createContext = (req: IncomingMessage): Context => ({
    services,
    presentedKey: presentedKey(req),
    pathSession: pathSessionOf(req),
    forwarded: isForwarded(req),
    idempotencyKey: headerOf(req, 'idempotency-key'),
  })
  // A failure the service raised on purpose (ApiError: WhatsApp not connected, a session moving,
  // WhatsApp refusing) is an expected state, told by the request line; anything else is a bug.
  const onError = (error: TRPCError, req: IncomingMessage) => {
    if (!(error instanceof ApiError) && describeError(error).body.code === 'INTERNAL_ERROR') logger.error({ err: error.cause ?? error, url: redactUrl(req.url ?? '') }, 'procedure failed')
  }
  const levelOf = (status: number) => (status === 502 || status === 503 || status === 504 ? 'info' : status >= 500 ? 'error' : 'debug')
  const logRequest = (req: IncomingMessage, res: ServerResponse) => {
    const started = process.hrtime.bigint()
    const url = req.url ?? '' // as sent: per-session paths are rewritten for routing
    res.on('finish', () => {
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      const level = levelOf(res.statusCode)
      if (!logger.isLevelEnabled(level)) return
      logger[level]({ method: req.method, url: redactUrl(url), status: res.statusCode, ms: Math.round(ms * 10) / 10 }, 'request')
    })
  }
  // tRPC parses its own bodies (and answers oversized ones in its own error format).
  const trpc = createTrpcHandler({ router: appRouter, basePath: '/trpc/', createContext, maxBodySize: config.BODY_LIMIT, onError })
  // The REST paths go straight to trpc-to-openapi too; what it does not own (and /api/qr, which
  // answers PNG and text) falls through to Express.
  const jsonBody = jsonBodyParser(config.BODY_LIMIT)
  const rest = restHandler({ router: appRouter, createContext, jsonBody, onError })
  const app = createHttpApp(services, rest, jsonBody, createContext)
  const failed = failedRequest(logger)
  const crossSite = crossSiteGuard(config)
  const wrongHost = hostCheck(config)
  // Server-Sent Events: a streaming answer trpc-to-openapi cannot give (event-stream.ts).
  const eventStream = eventStreamRoute({ createContext, failed, heartbeatMs: config.EVENT_STREAM_HEARTBEAT_MS })
  const mediaDownload = mediaDownloadRoute(createContext, failed)
  // Prometheus' text format: not JSON, gated by METRICS_KEY or API_KEY (metrics-route.ts).
  const metrics = metricsRoute(services, failed)
  return (req, res) => {
    logRequest(req, res)
    if (isWebhookDelivery(req)) return refuseWebhookDelivery(res)
    if (wrongHost(req, res) || crossSite(req, res)) return
    const path = originForm(req.url ?? '')
    if (path === undefined) return failed(new ApiError('VALIDATION_ERROR', 'The request target must be a path, starting with "/"'), req, res)
    req.url = path
    sentPaths.set(req, new URL(path, 'http://localhost').pathname)
    scopeRequest(req)
    const url = req.url
    if (url.startsWith('/trpc/')) return trpc(req, res)
    if (isEventStreamRequest(url)) return void eventStream(req, res)
    if (isMetricsRequest(url)) return void metrics(req, res)
    // The bytes of incoming media: not JSON, which trpc-to-openapi cannot send (src/media/http.ts).
    if (isMediaDownload(req)) return void mediaDownload(req, res)
    if ((url.startsWith('/api/') && !url.startsWith('/api/qr')) || url === '/health' || url.startsWith('/health?')) {
      return rest(req, res, (error) => (error === undefined ? app(req, res) : failed(error, req, res)))
    }
    app(req, res)
  }
}

/**
 * The request target as a path. A path (origin-form) is taken as it is, and an absolute URL (what
 * clients send to proxies, which servers must accept: RFC 9112, 3.2.2) is reduced to its path and
 * query; `*` (asterisk-form, for OPTIONS) and anything else name no resource here.
 */
function originForm(target: string): string | undefined {
  if (target.startsWith('/')) return target
  const absolute = /^https?:\/\/[^/?#]*(.*)$/i.exec(target)
  if (!absolute) return undefined
  const rest = absolute[1]!
  return rest.startsWith('/') ? rest : `/${rest}`
}

function createHttpApp(services: Services, rest: ReturnType<typeof restHandler>, jsonBody: JsonBodyParser, createContext: (req: IncomingMessage) => Context): Express {
  const { config, logger } = services
  const app = express()
  app.disable('x-powered-by')
  app.set('query parser', 'simple')

  app.use(jsonBody)

  const document = buildOpenApiDocument(appRouter, { baseUrl: config.PUBLIC_URL ?? '/', version: API_VERSION }, [declareQrFormats, declareMediaBytes, addSessionPaths, declareEventStream, declareMetrics])
  app.get('/openapi.json', (_req, res) => {
    res.json(document)
  })
  app.use(
    '/docs',
    swaggerUi.serve,
    swaggerUi.setup(document, {
      customSiteTitle: 'wsgo API',
      swaggerOptions: { validatorUrl: null, persistAuthorization: true, displayRequestDuration: true, tryItOutEnabled: true },
    }),
  )

  // A person who opens the service's address in a browser wants to pair (the query, e.g. ?session=, goes along).
  app.get('/', (req, res) => {
    const queryAt = req.originalUrl.indexOf('?')
    // Relative, so that behind a proxy under /prefix/ it leads to /prefix/qr.
    res.redirect(302, `qr${queryAt < 0 ? '' : req.originalUrl.slice(queryAt)}`)
  })
  app.get('/qr', qrPage())
  app.get('/api/qr', qrRoute(createContext))
  app.use(rest) // GET /api/qr?format=base64, and a 404 for what it does not own

  app.use(methodNotAllowed(document, { '/': ['GET'], '/qr': ['GET'], '/openapi.json': ['GET'] }, (req) => sentPaths.get(req) ?? req.url ?? '/'))
  app.use(notFound)
  app.use(errorHandler(logger))
  return app
}
