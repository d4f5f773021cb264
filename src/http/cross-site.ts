// Pages of other sites cannot change anything here (issue 18, item 7). A browser lets any page send
// a "simple" request to any address (a POST with no body, text/plain or a form) without asking the
// server first; with no API key set, or a key in a URL, such a request would log the account out
// or set a webhook. Browsers say where a request comes from (`Origin`, and `Sec-Fetch-Site` when
// there is no Origin), so a state-changing request from another origin is refused unless
// CORS_ORIGINS allows that origin; programs (curl, SDKs, other servers) send neither and are served.
// Reads from other origins are answered, but without CORS headers their page cannot see the answer.
//
// An allowed origin gets CORS: its preflights (OPTIONS with Access-Control-Request-Method) are
// answered here, and every answer to it carries Access-Control-Allow-Origin. No cookies are used,
// so credentials are never allowed.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Config } from '../config.js'

/** Methods that only read: a page of another site may send them, and cannot read the answer. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])
const ALLOWED_METHODS = 'GET, POST, DELETE'
/** Headers an allowed page may send when its preflight does not list them. */
const ALLOWED_HEADERS = 'content-type, x-api-key, trpc-accept'
const PREFLIGHT_MAX_AGE_S = 600
/** What a page of an allowed origin may read besides the CORS-safelisted response headers. */
const EXPOSED_HEADERS = 'allow, retry-after'
/** Request headers a preflight may ask for: tokens only (RFC 9110), so they are echoed safely. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9a-z-]+(\s*,\s*[!#$%&'*+.^_`|~0-9a-z-]+)*$/i

export const CROSS_SITE_CODE = 'CROSS_SITE_REQUEST'

/**
 * Answers the request and returns true when it is a preflight or a refused cross-site request;
 * otherwise returns false, having set the CORS headers when the origin is allowed.
 */
export type CrossSiteGuard = (req: IncomingMessage, res: ServerResponse) => boolean

export function crossSiteGuard(config: Pick<Config, 'CORS_ORIGINS' | 'PUBLIC_URL'>): CrossSiteGuard {
  const anyOrigin = config.CORS_ORIGINS.includes('*')
  const allowed = new Set(config.CORS_ORIGINS)
  // Behind a proxy that rewrites Host, the public URL is how the service's own pages are reached.
  const publicOrigin = config.PUBLIC_URL && URL.canParse(config.PUBLIC_URL) ? new URL(config.PUBLIC_URL).origin : undefined

  // `null` is the origin of sandboxed frames and local files: never one to trust.
  const isAllowed = (origin: string) => (anyOrigin ? origin !== 'null' : allowed.has(origin))

  /** The page was served by this service, at the address the browser used for this request. */
  const isSameOrigin = (req: IncomingMessage, origin: string) => {
    if (origin === publicOrigin) return true
    if (origin === 'null' || !URL.canParse(origin) || req.headers.host === undefined) return false
    // The scheme is left out: behind a TLS-terminating proxy the page is https and the hop is not.
    return new URL(origin).host === hostOf(req.headers.host)
  }

  return (req, res) => {
    const origin = single(req.headers.origin)
    const permitted = origin !== undefined && isAllowed(origin)
    if (origin !== undefined) appendVary(res, 'Origin')
    if (permitted) {
      res.setHeader('access-control-allow-origin', origin)
      res.setHeader('access-control-expose-headers', EXPOSED_HEADERS)
    }

    if (req.method === 'OPTIONS' && origin !== undefined && req.headers['access-control-request-method'] !== undefined) {
      if (!permitted && !isSameOrigin(req, origin)) {
        refuse(res, origin)
        return true
      }
      const asked = single(req.headers['access-control-request-headers'])?.trim()
      res.statusCode = 204
      res.setHeader('access-control-allow-methods', ALLOWED_METHODS)
      res.setHeader('access-control-allow-headers', asked && HEADER_LIST.test(asked) ? asked : ALLOWED_HEADERS)
      res.setHeader('access-control-max-age', String(PREFLIGHT_MAX_AGE_S))
      appendVary(res, 'Access-Control-Request-Method, Access-Control-Request-Headers')
      res.end()
      return true
    }

    if (SAFE_METHODS.has(req.method ?? 'GET') || permitted) return false
    const fetchSite = single(req.headers['sec-fetch-site'])
    // Without an Origin, only Sec-Fetch-Site tells; `same-site` is another origin too (another port of localhost).
    const crossSite = origin !== undefined ? !isSameOrigin(req, origin) : fetchSite === 'cross-site' || fetchSite === 'same-site'
    if (!crossSite) return false
    refuse(res, origin ?? `a page of another site (Sec-Fetch-Site: ${fetchSite})`)
    return true
  }
}

function refuse(res: ServerResponse, from: string): void {
  res.statusCode = 403
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(
    JSON.stringify({
      error: `Requests that change something are not accepted from the pages of other sites (this one came from ${from}); to allow a web app, add its origin to CORS_ORIGINS`,
      code: CROSS_SITE_CODE,
    }),
  )
}

/** A Host header as URL.host writes it: lowercase, without the default port. */
function hostOf(host: string): string | undefined {
  return URL.canParse(`http://${host}`) ? new URL(`http://${host}`).host : undefined
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value
}

function appendVary(res: ServerResponse, field: string): void {
  const current = res.getHeader('vary')
  res.setHeader('vary', current ? `${String(current)}, ${field}` : field)
}
