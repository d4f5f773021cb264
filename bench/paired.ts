// The service in this process, paired with the local WhatsApp stand-in, its webhook pointed at a
// loopback receiver that answers at once (bench/floors.ts). Used by the ingest and webhook sections.
import { ALICE, startWithStandIn, type WhatsAppHarness } from '../tests/support/whatsapp.js'
import { startFastReceiver, type FastReceiver } from './floors.js'

export interface Paired {
  h: WhatsAppHarness
  receiver: FastReceiver
  close(): Promise<void>
}

export async function startPaired(env: Record<string, string> = {}): Promise<Paired> {
  const receiver = await startFastReceiver()
  let h: WhatsAppHarness | undefined
  try {
    h = await startWithStandIn(env)
    await h.pair()
    const res = await fetch(`${h.url}/api/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: receiver.url }) })
    if (!res.ok) throw new Error(`setting the webhook failed: ${res.status} ${await res.text()}`)
    // One message through, so that Signal sessions, prepared statements and connections are warm.
    await receiver.waitForMessage(await h.standin.sendText(ALICE, 'warm-up'))
  } catch (error) {
    await h?.close()
    await receiver.close()
    throw error
  }
  const harness = h
  return {
    h: harness,
    receiver,
    async close() {
      await harness.close()
      await receiver.close()
    },
  }
}

/** The stand-in's contact whose messages the bench sends. */
export const SENDER = ALICE
