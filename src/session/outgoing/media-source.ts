// A send's media: the bytes given as base64 (decoded by the input schema), or fetched by the service
// from `media_url`. A fetch is bounded in time and size, and its failures say which: a URL the
// service cannot use is the caller's (400), a server that fails or is too slow is upstream's (502).
import { ApiError, validationError } from '../../errors.js'

/** The largest file fetched from a URL: WhatsApp's own limit for video and audio is 64 MB. */
export const MEDIA_URL_MAX_BYTES = 64 * 1024 * 1024
/** How long a fetch may take, headers and body together. */
export const MEDIA_URL_TIMEOUT_MS = 30_000

export interface MediaInput {
  /** bytes from the `<kind>_base64` field, already decoded */
  base64?: Buffer | undefined
  media_url?: string | undefined
}

export interface LoadedMedia {
  bytes: Buffer
  /** the Content-Type the server named, without parameters (only for fetched media) */
  contentType?: string
}

export interface FetchLimits {
  maxBytes: number
  timeoutMs: number
}

const DEFAULT_LIMITS: FetchLimits = { maxBytes: MEDIA_URL_MAX_BYTES, timeoutMs: MEDIA_URL_TIMEOUT_MS }

/**
 * The media of a request. `field` is the base64 field's name (e.g. `video_base64`), named in the
 * 400 when neither or both are given.
 */
export async function loadMedia(input: MediaInput, field: string, limits: FetchLimits = DEFAULT_LIMITS): Promise<LoadedMedia> {
  if (input.base64 && input.media_url) throw validationError([{ path: 'media_url', message: `give either ${field} or media_url, not both` }])
  if (input.base64) return { bytes: input.base64 }
  if (input.media_url) return fetchMedia(input.media_url, limits)
  throw validationError([{ path: field, message: `required: the file as base64 in ${field}, or its address in media_url` }])
}

function fetchFailed(url: string, why: string, cause?: unknown): ApiError {
  return new ApiError('MEDIA_FETCH_FAILED', `Could not fetch media_url ${new URL(url).origin}: ${why}`, { cause })
}

export async function fetchMedia(url: string, limits: FetchLimits = DEFAULT_LIMITS): Promise<LoadedMedia> {
  const signal = AbortSignal.timeout(limits.timeoutMs)
  let response: Response
  try {
    // Redirects are followed (file hosts use them), only to http(s): fetch refuses anything else.
    response = await fetch(url, { signal, redirect: 'follow' })
  } catch (error) {
    throw fetchFailed(url, signal.aborted ? `no answer within ${limits.timeoutMs / 1000} s` : describe(error), error)
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {})
    throw fetchFailed(url, `the server answered ${response.status}`)
  }
  const tooBig = () => validationError([{ path: 'media_url', message: `the file is larger than ${limits.maxBytes / 1024 / 1024} MB, the most the service fetches` }])
  const declared = Number(response.headers.get('content-length') ?? NaN)
  if (declared > limits.maxBytes) {
    await response.body?.cancel().catch(() => {})
    throw tooBig()
  }
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of response.body ?? []) {
      size += chunk.byteLength
      // Counted as it arrives: a server may send more than it declared, or declare nothing.
      if (size > limits.maxBytes) {
        await response.body?.cancel().catch(() => {})
        throw tooBig()
      }
      chunks.push(Buffer.from(chunk))
    }
  } catch (error) {
    if (error instanceof ApiError) throw error
    throw fetchFailed(url, signal.aborted ? `the download took longer than ${limits.timeoutMs / 1000} s` : describe(error), error)
  }
  if (size === 0) throw fetchFailed(url, 'the server sent an empty file')
  const contentType = response.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase()
  return { bytes: Buffer.concat(chunks, size), ...(contentType && { contentType }) }
}

function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error
  return cause instanceof Error ? cause.message : String(cause)
}
