// With no API_KEY the service listens on loopback only, and trusts whoever reaches it. A web page can
// still reach it by DNS rebinding: its own name (attacker.example) made to resolve to 127.0.0.1, so
// that the browser takes the service for the page's own origin and lets the page read every answer
// (the QR included). Such a request names that name in its Host header, so an open service on
// loopback answers only requests addressed to this machine by a loopback name or address, or to the
// host of PUBLIC_URL. With a key (or a HOST of another address) the key is what protects it.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config.js'

export const HOST_NOT_ALLOWED_CODE = 'HOST_NOT_ALLOWED'

const LOOPBACK_HOST = /^(localhost|[\w-]+\.localhost|127(\.\d{1,3}){3}|\[::1\]|\[::ffff:127(\.\d{1,3}){3}\])$/i

function isLoopbackAddress(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^(::ffff:)?127\./.test(host)
}

/** Answers (and returns true) a request addressed by a name that is not this machine's, when that matters; else false. */
export type HostCheck = (req: IncomingMessage, res: ServerResponse) => boolean

export function hostCheck(config: Pick<Config, 'API_KEY' | 'HOST' | 'PUBLIC_URL'>): HostCheck {
  if (config.API_KEY !== undefined || !isLoopbackAddress(config.HOST)) return () => false
  const publicHost = config.PUBLIC_URL && URL.canParse(config.PUBLIC_URL) ? new URL(config.PUBLIC_URL).hostname : undefined
  return (req, res) => {
    const header = req.headers.host
    if (header === undefined) return false // HTTP/1.0 without Host: nothing a browser sends
    const hostname = URL.canParse(`http://${header}`) ? new URL(`http://${header}`).hostname : header
    if (LOOPBACK_HOST.test(hostname) || hostname === publicHost) return false
    res.statusCode = 403
    res.setHeader('content-type', 'application/json; charset=utf-8')
    res.end(
      JSON.stringify({
        error: `This service has no API_KEY and answers requests for this machine only (localhost, 127.0.0.1), not for "${hostname}"; set API_KEY, or PUBLIC_URL when a proxy forwards that name`,
        code: HOST_NOT_ALLOWED_CODE,
      }),
    )
    return true
  }
}
