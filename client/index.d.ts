// @wsgo-ts/client: the types of a wsgo-ts service's tRPC API (router.d.ts, generated) and a
// client factory. Needs @trpc/client and @trpc/server (peers), nothing of the server itself.
import type { TRPCClient, TRPCClientError, TRPCFetch } from '@trpc/client'
import type { inferRouterInputs, inferRouterOutputs } from '@trpc/server'
import type { AppRouter } from './router.js'

export type * from './router.js'

export interface WsgoClientOptions {
  /** The service's address, e.g. `http://localhost:8080` (its `/trpc` endpoint is used). */
  url: string
  /** API_KEY, or a session's key: sent as the X-API-Key header (and as api_key on subscriptions). */
  apiKey?: string
  /**
   * The session (WhatsApp number) every call acts on unless its input names one; `default` when
   * not given. A session's own key reaches that session only.
   */
  session?: string
  /** More headers for every request. */
  headers?: Record<string, string>
  /** Several calls made together go in one HTTP request (default true). */
  batch?: boolean
  /** A fetch implementation, for runtimes without a global one. */
  fetch?: TRPCFetch
  /** An EventSource class, for subscriptions on runtimes without a global one (the `eventsource` package). */
  EventSource?: typeof EventSource
}

/** The typed client: `client.messages.sendText.mutate({ phone, message })`, `client.session.status.query()`. */
export type WsgoClient = TRPCClient<AppRouter>
/** What a failed call throws: `error.data?.errorCode` ('NOT_CONNECTED', 'VALIDATION_ERROR'...) and `error.data?.issues`. */
export type WsgoClientError = TRPCClientError<AppRouter>
/** Every procedure's input, e.g. `RouterInputs['messages']['sendText']`. */
export type RouterInputs = inferRouterInputs<AppRouter>
/** Every procedure's output as the client receives it, e.g. `RouterOutputs['session']['status']`. */
export type RouterOutputs = inferRouterOutputs<AppRouter>

/** A client of the service at `options.url`, calling with `options.apiKey`. */
export declare function createWsgoClient(options: WsgoClientOptions): WsgoClient
/** Whether a thrown value is a failed call of this service (narrows to WsgoClientError). */
export declare function isWsgoClientError(error: unknown): error is WsgoClientError
