// What happens, counted where it happens: one registry per process for the counters and the
// histogram that events feed (messages in and out, sends refused, the send queue, reconnects,
// decryption failures, webhook attempts), plus Node's own process metrics (memory, event-loop lag,
// CPU, handles). The gauges read at scrape time (session states, outbox depth) are in
// collectors.ts; GET /metrics (src/http/metrics-route.ts) shows both.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'

export const processRegistry = new Registry()
// Node's metrics: resident memory and heap, event-loop lag (from monitorEventLoopDelay), GC, CPU.
collectDefaultMetrics({ register: processRegistry, prefix: 'wsgo_' })

const registers = [processRegistry]

export const messagesTotal = new Counter({
  name: 'wsgo_messages_total',
  help: 'WhatsApp messages: direction "in" (received from others) or "out" (sent through the API), by message type',
  labelNames: ['session', 'direction', 'type'] as const,
  registers,
})

export const sendsRefusedTotal = new Counter({
  name: 'wsgo_sends_refused_total',
  help: 'Sends that did not go out (not connected, WhatsApp refused or timed out, ...), by error code',
  labelNames: ['session', 'code'] as const,
  registers,
})

export const sendQueueDepth = new Gauge({
  name: 'wsgo_send_queue_depth',
  help: 'Sends waiting for their turn or in flight',
  labelNames: ['session'] as const,
  registers,
})

export const reconnectsTotal = new Counter({
  name: 'wsgo_reconnects_total',
  help: 'Connections to WhatsApp that closed and are being made again',
  labelNames: ['session'] as const,
  registers,
})

export const connectsTotal = new Counter({
  name: 'wsgo_connects_total',
  help: 'Times the connection to WhatsApp opened (logged in)',
  labelNames: ['session'] as const,
  registers,
})

export const decryptionFailuresTotal = new Counter({
  name: 'wsgo_decryption_failures_total',
  help: 'Incoming messages that could not be decrypted (Baileys asks the sender to send them again)',
  labelNames: ['session'] as const,
  registers,
})

export const webhookAttemptsTotal = new Counter({
  name: 'wsgo_webhook_attempts_total',
  help: 'Webhook delivery attempts by outcome (delivered, retry, dead, failed, gone) and answer status class (2xx..5xx, error)',
  labelNames: ['session', 'outcome', 'status_class'] as const,
  registers,
})

export const webhookDeliverySeconds = new Histogram({
  name: 'wsgo_webhook_delivery_seconds',
  help: 'From an event being queued for a webhook to the receiver\'s answer that delivered it',
  labelNames: ['session'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
  registers,
})

export const webhookAttemptSeconds = new Histogram({
  name: 'wsgo_webhook_attempt_seconds',
  help: 'How long one delivery attempt took (the receiver\'s answer time)',
  labelNames: ['session'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers,
})
