// The hooks that feed the counters: each is called from one line where the thing happens, and
// only reads what it is given (it must never make a send or a delivery fail).
import type { AnyMessageContent, WAMessage } from '@whiskeysockets/baileys'
import { describeError } from '../errors.js'
import type { RecordedEvent } from '../events/log.js'
import type { AttemptOutcome } from '../webhooks/worker.js'
import { connectsTotal, decryptionFailuresTotal, messagesTotal, reconnectsTotal, sendQueueDepth, sendsRefusedTotal, webhookAttemptSeconds, webhookAttemptsTotal, webhookDeliverySeconds } from './counters.js'

/** Baileys' stub for a message it could not decrypt (WAMessageStubType.CIPHERTEXT). */
const CIPHERTEXT = 2

/** What a session's parts report to the metrics; subscribed once when the manager opens it. */
export interface ObservedSession {
  name: string
  events: { subscribe(listener: (event: RecordedEvent, data: unknown) => void): () => void }
  webhooks: { onAttempt(listener: (outcome: AttemptOutcome) => void): () => void }
}

export function observeSession(session: ObservedSession): void {
  const name = session.name
  session.events.subscribe((event, data) => {
    if (event.type === 'message') {
      const message = data as { fromMe?: boolean; type?: string }
      if (!message.fromMe) messagesTotal.inc({ session: name, direction: 'in', type: message.type ?? 'other' })
    } else if (event.type === 'connected') connectsTotal.inc({ session: name })
    else if (event.type === 'disconnected' && (data as { reconnectInMs?: number }).reconnectInMs !== undefined) reconnectsTotal.inc({ session: name })
  })
  session.webhooks.onAttempt((attempt) => {
    if (attempt.outcome === 'aborted') return
    webhookAttemptsTotal.inc({ session: name, outcome: attempt.outcome, status_class: attempt.statusClass })
    webhookAttemptSeconds.observe({ session: name }, attempt.ms / 1000)
    if (attempt.outcome === 'delivered') webhookDeliverySeconds.observe({ session: name }, attempt.sinceQueuedMs / 1000)
  })
}

/** The kind of an outgoing message, from the content Baileys is given (an edit has `text` too: it comes first). */
function typeOf(content: AnyMessageContent): string {
  const kinds = ['edit', 'delete', 'react', 'poll', 'contacts', 'location', 'sticker', 'document', 'audio', 'video', 'image', 'text'] as const
  const kind = kinds.find((field) => field in content)
  if (kind === 'contacts') return 'contact'
  if (kind === 'react') return 'reaction'
  return kind ?? 'other'
}

/** Runs one send, counting it in the queue while it waits and runs, then as sent or refused. */
export async function observeSend<T>(session: string, content: AnyMessageContent, send: () => Promise<T>): Promise<T> {
  sendQueueDepth.inc({ session })
  try {
    const sent = await send()
    messagesTotal.inc({ session, direction: 'out', type: typeOf(content) })
    return sent
  } catch (error) {
    sendsRefusedTotal.inc({ session, code: describeError(error).body.code })
    throw error
  } finally {
    sendQueueDepth.dec({ session })
  }
}

/** Counts the messages of an upsert that Baileys could not decrypt. */
export function observeUpsert(session: string, messages: readonly WAMessage[]): void {
  for (const message of messages) if (message.messageStubType === CIPHERTEXT) decryptionFailuresTotal.inc({ session })
}
