// The project's local WhatsApp stand-in (test-only): see server.ts for the scenario API.
export { StandIn, startStandIn } from './server.js'
export type {
	AddressBookEntry,
	ClientVersion,
	GroupQueryCounts,
	PairedDevice,
	ReceivedReceipt,
	RetryOptions,
	ScanOptions,
	SendOptions,
	StandInEndpoint,
	StandInOptions,
	StandInSocketOptions
} from './server.js'
export { startStandInFleet } from './fleet.js'
export type { StandInFleet, StandInFleetOptions } from './fleet.js'
export type { ContactSpec, GroupSpec, GroupParticipantSpec, StandInContact } from './directory.js'
export type { OutgoingMessage } from './outbox.js'
export type { HistoryContent, HistorySyncType } from './history-sync.js'
export type { DocumentSpec, ImageSpec } from './contact-messages.js'
export type { StoredMedia } from './media-host.js'
export { MemoryKeyStore } from './memory-keys.js'
export { releaseBaileysTimers } from './baileys-timers.js'
export { trustTestRoot } from './noise.js'
export { parseQr } from './pairing.js'
