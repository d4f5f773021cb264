// @wsgo-ts/client: a typed tRPC client for a wsgo-ts service. The types are in router.d.ts
// (generated from the server's router by scripts/build-client.mjs); this file only wires the links.
import { createTRPCClient, httpBatchLink, httpLink, httpSubscriptionLink, isTRPCClientError, splitLink } from '@trpc/client'
import { takesSession } from './procedures.mjs'

/** The service's tRPC endpoint: `http://host:8080` and `http://host:8080/trpc` both name it. */
function trpcUrl(url) {
  const base = url.replace(/\/+$/, '')
  return base.endsWith('/trpc') ? base : `${base}/trpc`
}

/**
 * Adds `session` to the input of every call that takes one and names none, so one client acts on
 * one number. Others (health, the admin's session list) take no such field, or no input at all.
 */
function sessionLink(session) {
  return () =>
    ({ op, next }) => {
      const input = op.input
      const fill = takesSession.has(op.path) && (input === undefined || (input !== null && typeof input === 'object' && !('session' in input)))
      return next(fill ? { ...op, input: { ...input, session } } : op)
    }
}

export function createWsgoClient(options) {
  if (options === null || typeof options !== 'object' || typeof options.url !== 'string' || options.url === '') {
    throw new TypeError('createWsgoClient: `url` is required, e.g. { url: "http://localhost:8080", apiKey: "..." }')
  }
  const url = trpcUrl(options.url)
  const headers = { ...options.headers }
  if (options.apiKey !== undefined) headers['X-API-Key'] = options.apiKey
  const fetchOption = options.fetch ? { fetch: options.fetch } : {}
  const requests = (options.batch === false ? httpLink : httpBatchLink)({ url, headers, ...fetchOption })
  // An EventSource sends no headers: subscriptions (server-sent events) carry the key as api_key,
  // which the service accepts as the header's equal.
  const subscriptionUrl = options.apiKey === undefined ? url : `${url}?api_key=${encodeURIComponent(options.apiKey)}`
  const subscriptions = httpSubscriptionLink({ url: subscriptionUrl, ...(options.EventSource ? { EventSource: options.EventSource } : {}) })
  const transport = splitLink({ condition: (op) => op.type === 'subscription', true: subscriptions, false: requests })
  return createTRPCClient({ links: options.session === undefined ? [transport] : [sessionLink(options.session), transport] })
}

export function isWsgoClientError(error) {
  return isTRPCClientError(error)
}
