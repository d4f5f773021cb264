// Which errors each operation of the OpenAPI document can answer. The generator lists the same
// 400/401/403/404/500 for everything; here the list is computed from what the procedure is: the
// guards it runs through (src/trpc.ts), whether it takes input or a body, whether it needs the
// WhatsApp socket, plus the codes its own meta declares (`meta.errors`). Each status gets the one
// error body with `code` narrowed to the codes that status can carry, so a generated client types
// the real error union.
import type { AnyTRPCProcedure } from '@trpc/server'
import type { OpenAPIObject } from 'trpc-to-openapi'
import { httpStatusOf, type ErrorCode } from '../errors.js'
import { adminProcedure, protectedProcedure, sessionProcedure, type Meta } from '../trpc.js'

/** What each code means to a caller, for the response descriptions. */
const MEANING: Record<ErrorCode, string> = {
  VALIDATION_ERROR: 'a field is missing or invalid (`issues` names it)',
  INVALID_JSON: 'the body is not valid JSON',
  UNAUTHORIZED: 'no API key, or a wrong one',
  FORBIDDEN: 'a session key used outside its session, or on an admin route',
  NOT_FOUND: 'no such session (or no such item)',
  NO_QR: 'no QR code on show yet',
  ALREADY_PAIRED: 'the device is already paired',
  CONFLICT: 'the request conflicts with the current state',
  PAYLOAD_TOO_LARGE: 'the body is over the size limit',
  UNSUPPORTED_MEDIA_TYPE: 'the body is not JSON (application/json, UTF-8)',
  METHOD_NOT_ALLOWED: 'the path does not take this method',
  TOO_MANY_STREAMS: 'too many live event streams are open in this process (EVENT_STREAM_MAX)',
  WHATSAPP_ERROR: 'WhatsApp refused or failed the request',
  MEDIA_FETCH_FAILED: 'the media_url could not be fetched',
  NOT_CONNECTED: 'WhatsApp is not connected (pair first, or wait for the reconnect)',
  SESSION_MOVING: 'the session is moving between processes; retry in a moment',
  STORE_UNAVAILABLE: 'the database cannot be reached or written; see GET /health',
  WHATSAPP_TIMEOUT: 'WhatsApp did not answer in time',
  INTERNAL_ERROR: 'a bug: the service logged it',
}

type Kind = 'public' | 'protected' | 'admin' | 'session' | 'adminSession'

// The guards are told apart by their middleware functions: each builder in trpc.ts adds its own.
const guard = (builder: { _def: { middlewares: unknown[] } }) => builder._def.middlewares.at(-1)
const REQUIRE_KEY = guard(protectedProcedure as never)
const REQUIRE_ADMIN = guard(adminProcedure as never)
const ON_SESSION = guard(sessionProcedure as never)

function kindOf(procedure: AnyTRPCProcedure): Kind {
  const middlewares = (procedure as unknown as { _def: { middlewares: unknown[] } })._def.middlewares
  const session = middlewares.includes(ON_SESSION)
  if (middlewares.includes(REQUIRE_ADMIN)) return session ? 'adminSession' : 'admin'
  if (session) return 'session'
  return middlewares.includes(REQUIRE_KEY) ? 'protected' : 'public'
}

/** A send that may fetch its file from `media_url` (src/session/outgoing/media-source.ts) may fail to. */
function fetchesMedia(procedure: AnyTRPCProcedure): boolean {
  const inputs = (procedure as unknown as { _def: { inputs: { shape?: Record<string, unknown> }[] } })._def.inputs
  return inputs.some((schema) => schema.shape?.media_url !== undefined)
}

function takesInput(procedure: AnyTRPCProcedure): boolean {
  const inputs = (procedure as unknown as { _def: { inputs: { def?: { type?: string } }[] } })._def.inputs
  return inputs.some((schema) => schema.def?.type !== 'void')
}

/** Every code a procedure can answer with, over REST. */
export function errorCodesOf(procedure: AnyTRPCProcedure, method: string): ErrorCode[] {
  const meta = (procedure as unknown as { _def: { meta?: Meta } })._def.meta
  const kind = kindOf(procedure)
  const codes = new Set<ErrorCode>(['INTERNAL_ERROR'])
  if (takesInput(procedure)) codes.add('VALIDATION_ERROR')
  // Any method but GET may carry a body, which the JSON body parser reads and may refuse.
  if (method !== 'GET') for (const code of ['VALIDATION_ERROR', 'INVALID_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const) codes.add(code)
  if (kind !== 'public') {
    // A session key is looked up in the store, which may be down.
    for (const code of ['UNAUTHORIZED', 'FORBIDDEN', 'STORE_UNAVAILABLE'] as const) codes.add(code)
  }
  if (kind === 'session' || kind === 'adminSession') {
    codes.add('NOT_FOUND')
    if (meta?.runsOn !== 'any') {
      // Runs at the session's owner: it may be changing hands, or be a standby, or WhatsApp may fail.
      for (const code of ['SESSION_MOVING', 'CONFLICT', 'NOT_CONNECTED', 'WHATSAPP_ERROR', 'WHATSAPP_TIMEOUT'] as const) codes.add(code)
    }
  }
  if (fetchesMedia(procedure)) codes.add('MEDIA_FETCH_FAILED')
  for (const code of meta?.errors ?? []) codes.add(code)
  return [...codes]
}

type Response = { description: string; content: Record<string, { schema: unknown; example?: unknown }> }

/** The responses of one status: the shared error body with the status's codes, and an example. */
function errorResponse(status: number, codes: ErrorCode[]): Response {
  const lines = codes.map((code) => `\`${code}\`: ${MEANING[code]}`)
  const first = codes[0]!
  return {
    description: lines.join('; '),
    content: {
      'application/json': {
        schema: { allOf: [{ $ref: '#/components/schemas/Error' }, { type: 'object', properties: { code: { type: 'string', enum: codes } } }] },
        example: { error: `${MEANING[first].charAt(0).toUpperCase()}${MEANING[first].slice(1)}`, code: first, ...(first === 'VALIDATION_ERROR' && { issues: [{ path: 'phone', message: 'Required' }] }) },
      },
    },
  }
}

type Operation = { responses?: Record<string, unknown> }

/** Replaces the generator's error responses of every procedure's operation with the computed ones. */
export function declareErrors(document: OpenAPIObject, procedures: Record<string, AnyTRPCProcedure>): void {
  for (const procedure of Object.values(procedures)) {
    const openapi = (procedure as unknown as { _def: { meta?: Meta } })._def.meta?.openapi
    if (!openapi) continue
    const operation = (document.paths?.[openapi.path] as Record<string, Operation> | undefined)?.[openapi.method.toLowerCase()]
    if (!operation?.responses) continue
    for (const status of Object.keys(operation.responses)) if (Number(status) >= 400) delete operation.responses[status]
    const byStatus = new Map<number, ErrorCode[]>()
    for (const code of errorCodesOf(procedure, openapi.method)) {
      const status = httpStatusOf(code)
      byStatus.set(status, [...(byStatus.get(status) ?? []), code])
    }
    for (const status of [...byStatus.keys()].sort()) operation.responses[String(status)] = errorResponse(status, byStatus.get(status)!)
  }
}
