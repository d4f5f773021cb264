// The service in-process, pointed at the local WhatsApp stand-in (tests/standin), with a temp
// database: the test gets the service's URL and the stand-in's scenario handle.
import { releaseBaileysTimers, startStandIn, type ScanOptions, type StandIn, type StandInOptions } from '../standin/index.js'
import type { ServiceOptions } from '../../src/service.js'
import { startTestService, type TestService } from './service.js'

export const OWN = { phone: '15550001111', lid: '99990001111', device: '15550001111:1@s.whatsapp.net' }
export const ALICE = { phone: '15550002222', lid: '88880002222', pushName: 'Alice' }
export const BOB = { phone: '15550003333', lid: '88880003333', pushName: 'Bob' }

export interface WhatsAppHarness {
  standin: StandIn
  service: TestService
  url: string
  /** Shows the QR through GET /api/qr, has the phone scan it, and waits until the API says loggedIn. */
  pair(options?: ScanOptions): Promise<void>
  /** Polls GET /api/status until `predicate` holds. */
  waitForStatus(predicate: (status: Status) => boolean, timeoutMs?: number): Promise<Status>
  /** Restarts the service on the same database (and the same stand-in). */
  restart(): Promise<void>
  close(): Promise<void>
}

export interface Status {
  connected: boolean
  loggedIn: boolean
  device: string
  pushName: string
  platform: string
  state: string
  lastDisconnect: { code: number | null; reason: string; at: string } | null
}

export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 25): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, everyMs))
  }
}

export async function startWithStandIn(
  env: Record<string, string | undefined> = {},
  options: { standin?: StandInOptions; service?: ServiceOptions } = {},
): Promise<WhatsAppHarness> {
  const standin = await startStandIn(options.standin)
  const { fetchAgent, options: fetchOptions } = standin.socketOptions
  const serviceOptions: ServiceOptions = {
    ...options.service,
    socketOptions: { fetchAgent, options: fetchOptions, connectTimeoutMs: 5_000, ...options.service?.socketOptions },
  }
  // Fast retries: tests exercise the reconnect rules, not the production pacing.
  const serviceEnv = { WA_WS_URL: standin.url, SEND_MIN_GAP_MS: '0', RECONNECT_MIN_MS: '50', RECONNECT_MAX_MS: '500', ...env }
  let service = await startTestService(serviceEnv, serviceOptions)

  const harness: WhatsAppHarness = {
    standin,
    get service() {
      return service
    },
    get url() {
      return service.url
    },
    async waitForStatus(predicate, timeoutMs = 10_000) {
      return waitUntil(
        'the status',
        async () => {
          const status = (await (await fetch(`${service.url}/api/status`)).json()) as Status
          return predicate(status) ? status : undefined
        },
        timeoutMs,
      )
    },
    async pair(scan = { pushName: 'My Business', platform: 'smba' }) {
      const qr = await waitUntil('a QR at GET /api/qr', async () => {
        const res = await fetch(`${service.url}/api/qr`)
        return res.status === 200 ? res.text() : undefined
      })
      await standin.scanQr(qr, scan)
      await standin.waitForLogin()
      await harness.waitForStatus((s) => s.loggedIn)
    },
    async restart() {
      await service.stop()
      service = await startTestService({ ...serviceEnv, DATABASE_URL: service.config.DATABASE_URL }, serviceOptions)
    },
    async close() {
      await service.close()
      await standin.close()
      releaseBaileysTimers()
    },
  }
  return harness
}
