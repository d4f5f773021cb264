// The rules every JSON request body and tRPC input meets, in one place: a size limit (on what it
// inflates to, when compressed), UTF-8, and a nesting limit checked on the raw bytes before
// anything is parsed. Deeply nested JSON costs nothing to send and much to handle: a 25 MB body of
// `[` is millions of nested arrays once parsed, and the libraries that serialize or validate input
// recurse (10,000 levels overflowed the stack of tRPC's request conversion). No input of this API
// is more than a few levels deep.
import type { IncomingMessage, ServerResponse } from 'node:http'
import express from 'express'
import { ApiError } from '../errors.js'

export const MAX_JSON_DEPTH = 64

const QUOTE = 0x22
const BACKSLASH = 0x5c
const [OPEN_ARRAY, CLOSE_ARRAY, OPEN_OBJECT, CLOSE_OBJECT] = [0x5b, 0x5d, 0x7b, 0x7d]

/**
 * Throws a 400 when JSON text (UTF-8) opens more than MAX_JSON_DEPTH arrays or objects inside each
 * other; reading stops there. Strings are skipped whole, so brackets in them do not count. Not a
 * validator: JSON.parse still has the last word on the syntax.
 */
export function assertJsonDepth(json: Buffer): void {
  let depth = 0
  for (let i = 0; i < json.length; i++) {
    const byte = json[i]!
    if (byte === QUOTE) i = closingQuote(json, i)
    else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
      if (++depth > MAX_JSON_DEPTH) throw new ApiError('VALIDATION_ERROR', `The JSON is nested more than ${MAX_JSON_DEPTH} levels deep`)
    } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) depth--
  }
}

/** Where the string opened at `open` ends (the end of the text if it does not). */
function closingQuote(json: Buffer, open: number): number {
  for (let at = json.indexOf(QUOTE, open + 1); at >= 0; at = json.indexOf(QUOTE, at + 1)) {
    let backslashes = 0
    while (json[at - 1 - backslashes] === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return at
  }
  return json.length
}

export type JsonBodyParser = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void

/**
 * Reads a JSON body into `req.body` (Express's parser: gzip, deflate and brotli, the limit applied
 * to the inflated size). On any failure it reads off the rest of the body before passing the error
 * on, so the keep-alive connection is ready for the next request; body-parser's errors are
 * translated in errors.ts.
 */
export function jsonBodyParser(limit: number): JsonBodyParser {
  return express.json({
    limit,
    type: ['application/json', 'application/*+json'],
    verify: (_req, _res, body, encoding) => {
      // The only encoding JSON has (RFC 8259, 8.1); the depth check reads bytes as UTF-8.
      if (encoding !== 'utf-8') throw new ApiError('UNSUPPORTED_MEDIA_TYPE', `JSON bodies must be UTF-8, not ${encoding}`)
      assertJsonDepth(body)
    },
  }) as JsonBodyParser
}
