// The hop between processes: a call for a session another process owns is made again, as a tRPC
// call with the same input, at the owner's /trpc endpoint. The owner checks the shared secret in
// X-Wsgo-Internal instead of an API key (the process forwarding the call has checked the caller's
// key already), and never forwards such a call again: if it no longer owns the session, it says so.
import { createHash } from 'node:crypto'
import type { Config } from '../config.js'
import { ApiError, isErrorCode } from '../errors.js'

export const INTERNAL_HEADER = 'x-wsgo-internal'

/** The secret of the hop: INTERNAL_SECRET, else one derived from API_KEY, else none (an open deployment). */
export function internalSecret(config: Config): string | undefined {
  if (config.INTERNAL_SECRET) return config.INTERNAL_SECRET
  return config.API_KEY ? createHash('sha256').update(`wsgo internal hop\n${config.API_KEY}`).digest('hex') : undefined
}

interface TrpcErrorBody {
  error?: { message?: string; data?: { errorCode?: string; issues?: Array<{ path: string; message: string }> } }
  result?: { data?: unknown }
}

export class Forwarder {
  private readonly secret: string
  constructor(private readonly config: Config) {
    this.secret = internalSecret(config) ?? 'open'
  }

  /** Calls procedure `path` at `ownerUrl` with `input`; its answer, or its error as an ApiError. */
  async call(ownerUrl: string, path: string, type: 'query' | 'mutation', input: unknown, session: string): Promise<unknown> {
    const base = `${ownerUrl.replace(/\/$/, '')}/trpc/${path}`
    const body = JSON.stringify(input ?? {})
    const url = type === 'query' ? `${base}?input=${encodeURIComponent(body)}` : base
    let response: Response
    try {
      response = await fetch(url, {
        method: type === 'query' ? 'GET' : 'POST',
        headers: { [INTERNAL_HEADER]: this.secret, ...(type === 'mutation' && { 'content-type': 'application/json' }) },
        ...(type === 'mutation' && { body }),
        // A send may wait SEND_TIMEOUT_MS for WhatsApp; the hop waits a little longer.
        signal: AbortSignal.timeout(this.config.SEND_TIMEOUT_MS + 10_000),
      })
    } catch (error) {
      // Refused before anything was sent (the owner is gone): the call may be made again elsewhere.
      // Failing later (a timeout, a cut connection), it may have been carried out: not retried.
      const refused = (error as { cause?: { code?: string } }).cause?.code === 'ECONNREFUSED'
      throw new ApiError(refused ? 'SESSION_MOVING' : 'NOT_CONNECTED', `The process that owns session "${session}" cannot be reached (${ownerUrl}); try again in a moment`, { cause: error })
    }
    const answer = (await response.json().catch(() => ({}))) as TrpcErrorBody
    if (response.ok && answer.result) return answer.result.data
    const data = answer.error?.data
    const code = data?.errorCode && isErrorCode(data.errorCode) ? data.errorCode : 'INTERNAL_ERROR'
    throw new ApiError(code, answer.error?.message ?? `The owner of session "${session}" answered ${response.status}`, data?.issues ? { issues: data.issues } : {})
  }
}
