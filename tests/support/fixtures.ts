// Sample data shared by tests.
import type { EventData } from '../../src/events/types.js'

/** A `message` event's data as the contract shapes it, numbered so tests can tell them apart. */
export function sampleMessage(i: number | string): EventData<'message'> {
  return {
    from: '15550002222@s.whatsapp.net',
    chat: '15550002222@s.whatsapp.net',
    messageID: `M${i}`,
    pushName: 'Alice',
    timestamp: '2026-06-09T12:00:00.000Z',
    text: `hello ${i}`,
    isGroup: false,
  }
}
