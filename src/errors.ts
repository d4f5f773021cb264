// One error shape for both interfaces. Every failure a caller can cause or see has a machine code,
// an HTTP status and a human sentence; REST sends `{error, code, issues?}` and tRPC carries the same
// code and sentence in its own error format (see errorFormatter in trpc.ts).
import { TRPCError } from '@trpc/server'
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc'
import { z } from 'zod'
import { storeFaultOf } from './store/store-faults.js'

const codes = {
  VALIDATION_ERROR: { status: 400, trpc: 'BAD_REQUEST' },
  INVALID_JSON: { status: 400, trpc: 'PARSE_ERROR' },
  UNAUTHORIZED: { status: 401, trpc: 'UNAUTHORIZED' },
  FORBIDDEN: { status: 403, trpc: 'FORBIDDEN' },
  NOT_FOUND: { status: 404, trpc: 'NOT_FOUND' },
  NO_QR: { status: 404, trpc: 'NOT_FOUND' },
  ALREADY_PAIRED: { status: 409, trpc: 'CONFLICT' },
  CONFLICT: { status: 409, trpc: 'CONFLICT' },
  PAYLOAD_TOO_LARGE: { status: 413, trpc: 'PAYLOAD_TOO_LARGE' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, trpc: 'UNSUPPORTED_MEDIA_TYPE' },
  METHOD_NOT_ALLOWED: { status: 405, trpc: 'METHOD_NOT_SUPPORTED' },
  /** Too many live event streams are open in this process (EVENT_STREAM_MAX). */
  TOO_MANY_STREAMS: { status: 429, trpc: 'TOO_MANY_REQUESTS' },
  WHATSAPP_ERROR: { status: 502, trpc: 'BAD_GATEWAY' },
  /** A send's media_url could not be fetched (unreachable, an error status, too slow). */
  MEDIA_FETCH_FAILED: { status: 502, trpc: 'BAD_GATEWAY' },
  NOT_CONNECTED: { status: 503, trpc: 'SERVICE_UNAVAILABLE' },
  /** The session is changing hands between processes: a retry in a moment reaches its new owner. */
  SESSION_MOVING: { status: 503, trpc: 'SERVICE_UNAVAILABLE' },
  /** The database cannot be written or reached (full, read-only, down): the service retries it on its own. */
  STORE_UNAVAILABLE: { status: 503, trpc: 'SERVICE_UNAVAILABLE' },
  WHATSAPP_TIMEOUT: { status: 504, trpc: 'GATEWAY_TIMEOUT' },
  INTERNAL_ERROR: { status: 500, trpc: 'INTERNAL_SERVER_ERROR' },
} as const satisfies Record<string, { status: number; trpc: TRPC_ERROR_CODE_KEY }>

export type ErrorCode = keyof typeof codes

export const issueSchema = z.object({ path: z.string(), message: z.string() })
export type Issue = z.infer<typeof issueSchema>
export const errorBodySchema = z
  .object({
    error: z.string().describe('What went wrong, in a sentence'),
    code: z.string().describe('Machine-readable code, e.g. VALIDATION_ERROR, NOT_CONNECTED'),
    issues: z.array(issueSchema).optional().describe('For invalid input: which field and why'),
  })
export type ErrorBody = z.infer<typeof errorBodySchema>

/** An error the service raises on purpose: its code, status and message reach the caller as they are. */
export class ApiError extends TRPCError {
  readonly errorCode: ErrorCode
  readonly issues: Issue[] | undefined
  constructor(code: ErrorCode, message: string, options: { issues?: Issue[]; cause?: unknown } = {}) {
    super({ code: codes[code].trpc, message, cause: options.cause })
    this.errorCode = code
    this.issues = options.issues
  }
}

export const isErrorCode = (code: string): code is ErrorCode => Object.hasOwn(codes, code)

export function httpStatusOf(code: ErrorCode): number {
  return codes[code].status
}

function issuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.map(String).join('.') || '(body)'
}

export function issuesOf(error: z.ZodError): Issue[] {
  return error.issues.map((issue) => ({ path: issuePath(issue.path), message: issue.message }))
}

function sentenceFor(issues: Issue[]): string {
  const first = issues[0]
  if (!first) return 'Invalid input'
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''
  // A message that names its field already ("phone is required") is not prefixed with it again.
  const what = first.message.startsWith(`${first.path} `) ? first.message : `${first.path}: ${first.message}`
  return `Invalid input: ${what}${more}`
}

/** The public description of any error: what REST sends as its body and tRPC as its message/data. */
export function describeError(error: unknown): { status: number; body: ErrorBody } {
  if (error instanceof ApiError) {
    const body: ErrorBody = { error: error.message, code: error.errorCode }
    if (error.issues) body.issues = error.issues
    return { status: httpStatusOf(error.errorCode), body }
  }
  if (error instanceof TRPCError) {
    if (error.cause instanceof z.ZodError) {
      const issues = issuesOf(error.cause)
      return { status: 400, body: { error: sentenceFor(issues), code: 'VALIDATION_ERROR', issues } }
    }
    const known: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
      PARSE_ERROR: 'INVALID_JSON',
      BAD_REQUEST: 'VALIDATION_ERROR',
      UNAUTHORIZED: 'UNAUTHORIZED',
      FORBIDDEN: 'FORBIDDEN',
      NOT_FOUND: 'NOT_FOUND',
      PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
      UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
      METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
    }
    const code = known[error.code]
    if (code === 'INVALID_JSON') return { status: 400, body: { error: 'The request body is not valid JSON', code } }
    // Framework errors (bad JSON to /trpc, unknown procedure, ...) are the caller's; keep their text.
    if (code) return { status: httpStatusOf(code), body: { error: error.message, code } }
  }
  // The store failing is a state of the service, not a bug of this request: say which.
  const fault = storeFaultOf(error)
  if (fault) return { status: httpStatusOf('STORE_UNAVAILABLE'), body: { error: storeUnavailableMessage(fault.message), code: 'STORE_UNAVAILABLE' } }
  // Anything else is a bug: never leak its message.
  return { status: 500, body: { error: 'Internal server error', code: 'INTERNAL_ERROR' } }
}

export function validationError(issues: Issue[]): ApiError {
  return new ApiError('VALIDATION_ERROR', sentenceFor(issues), { issues })
}

export function storeUnavailableMessage(cause: string): string {
  return `The database is unavailable: ${cause}. The service retries it on its own; see GET /health`
}
