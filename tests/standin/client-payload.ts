// What a client tells the server in its Noise handshake (the ClientPayload): the app version it runs
// (WhatsApp refuses outdated ones with `<failure reason="405">`) and, when registering, the companion's
// DeviceProps (its OS, platform and how much history it wants synced).
import { proto, type BinaryNode } from '@whiskeysockets/baileys'
import type { ConnectionKind } from './client-connection.js'
import { node } from './nodes.js'

/** The app version a client presented (`ClientPayload.userAgent.appVersion`, Baileys' `version` config). */
export type ClientVersion = { kind: ConnectionKind; primary: number; secondary: number; tertiary: number }

export function clientVersionOf(kind: ConnectionKind, payload: proto.IClientPayload): ClientVersion {
	const version = payload.userAgent?.appVersion
	return { kind, primary: version?.primary ?? 0, secondary: version?.secondary ?? 0, tertiary: version?.tertiary ?? 0 }
}

/** A registering companion's DeviceProps (`devicePairingData.deviceProps`), decoded; undefined on login. */
export function devicePropsOf(payload: proto.IClientPayload): proto.DeviceProps | undefined {
	const encoded = payload.devicePairingData?.deviceProps
	return encoded ? proto.DeviceProps.decode(encoded) : undefined
}

/** WhatsApp's answer to a client version it no longer accepts; Baileys closes with statusCode 405. */
export function outdatedVersionFailure(): BinaryNode {
	return node('failure', { reason: '405', location: 'standin' })
}
