// A webhook pointed at the service itself (its own /api/logout, say) made every event a call, whose
// events were delivered as calls again: 77 logouts in 2.4 s (issue 18, item 7). Every delivery
// carries X-Wsgo-Delivery and X-Wsgo-Event (src/webhooks/deliver.ts) and no caller of the API sends
// them, so a request with either is refused before it reaches a route. The answer is 410 Gone, which
// the delivering side reads as "turn this webhook off" (keeping what is pending for the next URL):
// the loop stops at its first turn, and the webhook's deliveries show why.
import type { IncomingMessage, ServerResponse } from 'node:http'

export const WEBHOOK_LOOP_CODE = 'WEBHOOK_LOOP'

export function isWebhookDelivery(req: IncomingMessage): boolean {
  return req.headers['x-wsgo-delivery'] !== undefined || req.headers['x-wsgo-event'] !== undefined
}

export function refuseWebhookDelivery(res: ServerResponse): void {
  res.statusCode = 410
  res.setHeader('content-type', 'application/json; charset=utf-8')
  res.end(
    JSON.stringify({
      error: 'This is a webhook delivery from wsgo (X-Wsgo-Delivery), and the API does not take its own webhooks as calls: that would loop. Set the webhook to your receiver\'s URL, not to this service',
      code: WEBHOOK_LOOP_CODE,
    }),
  )
}
