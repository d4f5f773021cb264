// GET /metrics: Prometheus' text format (prom-client), for a Prometheus server to scrape. Not a tRPC
// procedure: its answer is text/plain, and it is gated by its own key. METRICS_KEY (for the
// scraper, which then holds no key that reaches the API) or the admin key API_KEY, sent as
// `Authorization: Bearer <key>` (Prometheus' `authorization` setting), X-API-Key or ?api_key=;
// with neither configured it is open, like the rest of an open deployment.
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Registry } from 'prom-client'
import type { OpenAPIObject } from 'trpc-to-openapi'
import { ApiError } from '../errors.js'
import { serviceRegistry } from '../metrics/collectors.js'
import { processRegistry } from '../metrics/counters.js'
import type { Services } from '../services.js'
import { keyMatches } from '../trpc.js'
import type { FailedRequest } from './errors.js'

export const METRICS_PATH = '/metrics'

export const isMetricsRequest = (url: string) => url === METRICS_PATH || url.startsWith(`${METRICS_PATH}?`)

function presentedKeys(req: IncomingMessage): string[] {
  const keys: string[] = []
  const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')
  if (bearer) keys.push(bearer[1]!.trim())
  const header = req.headers['x-api-key']
  if (typeof header === 'string' && header !== '') keys.push(header)
  const query = new URL(req.url ?? '/', 'http://localhost').searchParams.get('api_key')
  if (query) keys.push(query)
  return keys
}

export function metricsRoute(services: Services, failed: FailedRequest) {
  const accepted = [services.config.METRICS_KEY, services.config.API_KEY].filter((key): key is string => key !== undefined)
  const own = serviceRegistry(services)
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD')
      return failed(new ApiError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${METRICS_PATH}; use GET`), req, res)
    }
    if (accepted.length > 0) {
      const keys = presentedKeys(req)
      if (!keys.some((key) => accepted.some((expected) => keyMatches(key, expected)))) {
        const message = keys.length === 0 ? 'A key is required: send METRICS_KEY (or API_KEY) as "Authorization: Bearer <key>" or in X-API-Key' : 'Invalid key for /metrics: it takes METRICS_KEY or API_KEY'
        return failed(new ApiError('UNAUTHORIZED', message), req, res)
      }
    }
    try {
      // The process's counters with this service's gauges; merged per scrape (cheap: no copy of the values).
      const registry = Registry.merge([processRegistry, own])
      const body = await registry.metrics()
      res.statusCode = 200
      res.setHeader('content-type', registry.contentType)
      res.setHeader('cache-control', 'no-store')
      res.end(req.method === 'HEAD' ? undefined : body)
    } catch (error) {
      failed(error, req, res)
    }
  }
}

/** GET /metrics in the OpenAPI document: text/plain, with its own key. */
export function declareMetrics(document: OpenAPIObject): void {
  document.components ??= {}
  document.components.securitySchemes ??= {}
  document.components.securitySchemes.MetricsBearer = { type: 'http', scheme: 'bearer', description: 'METRICS_KEY (or API_KEY) as a bearer token, what Prometheus\' `authorization` setting sends' }
  const error = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })
  document.paths ??= {}
  document.paths[METRICS_PATH] = {
    get: {
      operationId: 'metrics',
      summary: 'Metrics in Prometheus\' text format',
      description:
        'For a Prometheus server to scrape: per-session connection state, connects and reconnects, messages in and out by type, send queue depth, sends refused, ' +
        'webhook outbox depth and the age of its oldest waiting delivery, delivery attempts by outcome and status class, delivery latency, decryption failures, ' +
        'and the process\'s own (memory, event-loop lag, CPU). Takes METRICS_KEY or API_KEY; open when neither is set.',
      tags: ['Connection'],
      security: [{ MetricsBearer: [] }, { ApiKeyHeader: [] }, { ApiKeyQuery: [] }],
      responses: {
        '200': { description: 'The metrics', content: { 'text/plain': { schema: { type: 'string' }, example: '# HELP wsgo_messages_total WhatsApp messages\n# TYPE wsgo_messages_total counter\nwsgo_messages_total{session="default",direction="in",type="text"} 3\n' } } },
        '401': error('Missing or wrong key'),
        '405': error('Only GET and HEAD'),
      },
    },
  } as never
}
