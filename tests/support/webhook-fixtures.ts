// What the webhook tests start: the service with fast retries and real receivers on loopback, each
// closed after its test whatever happened, a plain JSON call to the service's REST routes, and the check of a 400.
import { afterEach } from 'node:test'
import assert from 'node:assert/strict'
import { Receiver } from './receiver.js'
import { startTestService, type TestService } from './service.js'

/** Fast retries for tests: 20 ms, 40 ms, then 80 ms at most. */
export const FAST_RETRIES = { WEBHOOK_RETRY_MIN_MS: '20', WEBHOOK_RETRY_MAX_MS: '80' }

export interface WebhookFixtures {
  /** A receiver on loopback, closed after the test. */
  receiver(): Promise<Receiver>
  /** The service with FAST_RETRIES (overridden by `env`), stopped after the test. */
  service(env?: Record<string, string>): Promise<TestService>
  /** Anything else to undo after the test; undone in the reverse order of registration. */
  cleanup(undo: () => Promise<unknown> | unknown): void
}

/**
 * Call once at the top of a test file: it registers the file's afterEach, which is why this is a
 * function and not module state (importing a module should not add hooks to a file by itself).
 */
export function webhookFixtures(): WebhookFixtures {
  const cleanups: Array<() => Promise<unknown> | unknown> = []
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!()
  })
  const cleanup = (undo: () => Promise<unknown> | unknown) => void cleanups.push(undo)
  return {
    cleanup,
    async receiver() {
      const started = await Receiver.start()
      cleanup(() => started.close())
      return started
    },
    async service(env = {}) {
      const started = await startTestService({ ...FAST_RETRIES, ...env })
      cleanup(() => started.close())
      return started
    },
  }
}

/** A JSON request to one of the service's REST routes; the answer's status and parsed body. */
export async function call(svc: TestService, method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', route: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${svc.url}${route}`, {
    method,
    ...(body !== undefined && { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  })
  return { status: res.status, body: await res.json() }
}

/** How bad input must be answered: 400, VALIDATION_ERROR, and the first issue names `field`. */
export function assertRefused(res: { status: number; body: any }, field: string, what = ''): void {
  const shown = `${what} ${JSON.stringify(res.body)}`.trim()
  assert.equal(res.status, 400, shown)
  assert.equal(res.body.code, 'VALIDATION_ERROR', shown)
  assert.equal(res.body.issues?.[0]?.path, field, shown)
}
