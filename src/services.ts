// What a request handler can reach. Built once by the composition root (src/service.ts); the store
// is reached through the sessions and keys, never directly.
import type { Config } from './config.js'
import type { Forwarder } from './http/forward.js'
import type { IdempotencyStore } from './idempotency/store.js'
import type { Logger } from './logger.js'
import type { SessionKeys } from './session/keys.js'
import type { SessionManager } from './session/manager.js'

export interface Services {
  config: Config
  logger: Logger
  sessions: SessionManager
  keys: SessionKeys
  /** Makes a call again at the process that owns its session. */
  forward: Forwarder
  /** The Idempotency-Keys of the sends. */
  idempotency: IdempotencyStore
}
