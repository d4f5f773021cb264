// The gauges read at scrape time from what the service already knows: each session's connection
// state (for the sessions this process owns: in a deployment of several processes each reports its
// own, so that summing over processes counts each session once), and each owned session's webhook
// outbox depth and the age of its oldest waiting delivery. One registry per running service.
import { setImmediate as nextTurn } from 'node:timers/promises'
import { Gauge, Registry } from 'prom-client'
import { stateSchema } from '../session/shapes.js'
import type { Services } from '../services.js'

/** Sessions looked at per scrape, at most (a page of the session list). */
const MAX_SESSIONS = 1000

interface SessionReading {
  name: string
  state: string
  waiting: number
  oldestWaitingSeconds: number
}

async function readSessions(services: Services): Promise<SessionReading[]> {
  const readings: SessionReading[] = []
  const now = Date.now()
  for (const { name } of await services.sessions.list({ limit: MAX_SESSIONS })) {
    const session = await services.sessions.get(name)
    if (!session.isOwned) continue
    const connection = await session.currentConnection()
    const [counts, oldest] = await Promise.all([session.outbox.counts(), session.outbox.oldestWaiting()])
    readings.push({ name, state: connection?.status().state ?? 'connecting', waiting: counts.pending, oldestWaitingSeconds: oldest ? Math.max(0, (now - oldest.getTime()) / 1000) : 0 })
    // A scrape with many sessions leaves room for the requests waiting behind it.
    await nextTurn()
  }
  return readings
}

/** A registry whose gauges read `services` when scraped; one store read per scrape serves them all. */
export function serviceRegistry(services: Services): Registry {
  const registry = new Registry()
  // The gauges' collect() run one after another within a scrape: they share one reading.
  let reading: Promise<SessionReading[]> | undefined
  const read = () => (reading ??= readSessions(services).finally(() => setImmediate(() => (reading = undefined))))

  new Gauge({
    name: 'wsgo_session_state',
    help: 'Each session\'s WhatsApp connection state in this process: 1 for the state it is in, 0 for the others',
    labelNames: ['session', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset()
      for (const session of await read()) for (const state of stateSchema.options) this.set({ session: session.name, state }, state === session.state ? 1 : 0)
    },
  })
  // One number per session each.
  const perSession: Array<[name: string, help: string, value: (session: SessionReading) => number]> = [
    ['wsgo_webhook_outbox_depth', 'Webhook deliveries waiting to be delivered (pending or being sent)', (session) => session.waiting],
    ['wsgo_webhook_oldest_pending_age_seconds', 'Age of the oldest webhook delivery still waiting; 0 when none waits', (session) => session.oldestWaitingSeconds],
  ]
  for (const [name, help, value] of perSession) {
    new Gauge({
      name,
      help,
      labelNames: ['session'] as const,
      registers: [registry],
      async collect() {
        this.reset()
        for (const session of await read()) this.set({ session: session.name }, value(session))
      },
    })
  }
  return registry
}
