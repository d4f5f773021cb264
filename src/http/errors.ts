// Express-side errors: broken JSON, oversized bodies, unknown routes and anything thrown by a plain
// Express route all leave in the one shape of src/errors.ts.
import type { ErrorRequestHandler, RequestHandler } from 'express'
import { ApiError, describeError } from '../errors.js'
import type { Logger } from '../logger.js'

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
      return undefined
  }
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, next) => {
    if (res.headersSent) return next(error)
    const translated = (typeof error === 'object' && error !== null && fromBodyParser(error)) || error
    const { status, body } = describeError(translated)
    if (status >= 500) logger.error({ err: error, method: req.method, path: req.path }, 'request failed')
    res.status(status).json(body)
  }
}
