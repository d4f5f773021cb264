// What Node's HTTP parser cannot read (a malformed request line or header, headers too large, a
// request too slow to arrive) never reaches the request listener: Node answers it with a bare
// `400 Bad Request` and no body. Here it gets the one JSON error shape, with the status Node would
// have chosen, and the connection is closed (the parser cannot tell where the next request starts).
import type { Socket } from 'node:net'
import type { Logger } from '../logger.js'

/** Node's own choice of status for each parser failure (lib/_http_server.js), else 400. */
function statusOf(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431
  if (code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW') return 413
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408
  return 400
}

const REASONS: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 413: 'Content Too Large', 431: 'Request Header Fields Too Large' }
const SENTENCES: Record<number, string> = {
  400: 'The request is not valid HTTP',
  408: 'The request did not arrive in time',
  413: 'A chunk extension of the request body is too large',
  431: 'The request headers are too large',
}
const CODES: Record<number, string> = { 400: 'BAD_REQUEST', 408: 'REQUEST_TIMEOUT', 413: 'PAYLOAD_TOO_LARGE', 431: 'HEADERS_TOO_LARGE' }

/** A `clientError` listener for the HTTP server. */
export function answerClientError(logger: Logger): (error: Error & { code?: string }, socket: Socket) => void {
  return (error, socket) => {
    // Nothing to answer on a connection that is gone, or one whose response has started.
    if (error.code === 'ECONNRESET' || !socket.writable || (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent) {
      socket.destroy()
      return
    }
    const status = statusOf(error.code)
    logger.debug({ code: error.code, status }, 'malformed request')
    const body = JSON.stringify({ error: SENTENCES[status], code: CODES[status] })
    socket.end(
      `HTTP/1.1 ${status} ${REASONS[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    )
  }
}
