// Errors outside the procedures: broken or refused request bodies, odd request targets, unknown
// routes and anything thrown by a plain Express route all leave in the one shape of src/errors.ts.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ErrorRequestHandler, RequestHandler } from 'express'
import { ApiError, describeError } from '../errors.js'
import { redactUrl, type Logger } from '../logger.js'
import { storeFaultOf } from '../store/store-faults.js'

export const notFound: RequestHandler = (req, res) => {
  res.status(404).json({ error: `No route for ${req.method} ${req.path}`, code: 'NOT_FOUND' })
}

/** body-parser's errors carry a `type`; translate the ones a caller causes. */
function fromBodyParser(error: { type?: string; status?: number; limit?: number }): ApiError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new ApiError('INVALID_JSON', 'The request body is not valid JSON')
    case 'entity.too.large':
      return new ApiError('PAYLOAD_TOO_LARGE', `The request body is larger than the limit of ${error.limit} bytes`)
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError('UNSUPPORTED_MEDIA_TYPE', 'Unsupported body encoding')
    case 'request.aborted':
      return new ApiError('VALIDATION_ERROR', 'The request body was not sent completely')
    default:
      return undefined // e.g. entity.verify.failed: the ApiError thrown by json-body.ts's checks
  }
}

export type FailedRequest = (error: unknown, req: IncomingMessage, res: ServerResponse) => void

/** Answers a request that failed outside a procedure; a 5xx that is not an ApiError is a bug, and logged. */
export function failedRequest(logger: Logger): FailedRequest {
  return (error, req, res) => {
    const translated = (typeof error === 'object' && error !== null && fromBodyParser(error)) || error
    const { status, body } = describeError(translated)
    // An ApiError is a state the service reports on purpose (e.g. WhatsApp not connected), not a bug;
    // so is a store fault (reported once by the store's health, not once per request).
    if (status >= 500 && !(translated instanceof ApiError) && !storeFaultOf(error)) logger.error({ err: error, method: req.method, url: redactUrl(req.url ?? '') }, 'request failed')
    if (res.headersSent) return void res.destroy()
    res.statusCode = status
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.end(JSON.stringify(body))
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  const fail = failedRequest(logger)
  return (error, req, res, next) => (res.headersSent ? next(error) : fail(error, req, res))
}
