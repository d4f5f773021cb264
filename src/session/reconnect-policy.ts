// What to do after the WhatsApp connection closed, from Baileys' disconnect reason. Pure functions,
// so every reason's next state is tested without a socket.
import { DisconnectReason } from '@whiskeysockets/baileys'

export type NextStep =
  /** Open a new socket at once (515 right after pairing: the normal second half of a pairing). */
  | { action: 'reconnect-now'; reason: string }
  /** Transient trouble: reconnect after an exponential backoff with jitter. */
  | { action: 'reconnect-later'; reason: string }
  /** WhatsApp no longer knows this device: wipe the stored auth state and show a fresh QR. */
  | { action: 'reset'; reason: string }
  /** Reconnecting would not help (or would fight someone): stay closed and say why. */
  | { action: 'stop'; reason: string }

export interface CloseContext {
  /** The device has completed pairing at some point (creds hold its identity). */
  paired: boolean
  /** The closed socket got as far as showing a QR code or opening. */
  reachedWhatsApp: boolean
  /** The error Baileys closed with, in its words (e.g. 'noise certificate signature invalid'). */
  detail?: string | undefined
}

/**
 * Baileys' refusals of the server's Noise certificate chain (lib/Utils/noise-handler.js), once
 * `Curve.verify` really verifies (scripts/patch-baileys.mjs): a missing or malformed certificate, a
 * signature that does not verify against WhatsApp's root, or another issuer.
 */
const CERTIFICATE_REFUSED = /^(invalid noise (leaf|intermediate) certificate|noise (intermediate )?certificate signature invalid|certification match failed)$/

/** Why the handshake was refused, for a person: it was reached, and it is not WhatsApp's certificate. */
export function certificateRefusedReason(detail: string): string {
  return (
    `WhatsApp's certificate could not be verified (${detail}): the server reached is not WhatsApp, or something between intercepts the connection; ` +
    'check WA_WS_URL (unset, it is WhatsApp itself) and any proxy or firewall that rewrites traffic. Retrying with backoff'
  )
}

export function nextStepAfterClose(code: number | undefined, context: CloseContext): NextStep {
  // The server answered, but its certificate chain is not WhatsApp's: neither "unreachable" nor
  // something a new device fixes. Retried (a wrong WA_WS_URL or a proxy may be fixed meanwhile).
  if (context.detail !== undefined && CERTIFICATE_REFUSED.test(context.detail)) {
    return { action: 'reconnect-later', reason: certificateRefusedReason(context.detail) }
  }
  // Never got through to WhatsApp (DNS, refused, TLS, proxy...): Baileys reports these as 408/428.
  if (!context.reachedWhatsApp && code !== DisconnectReason.restartRequired && code !== 405 && code !== DisconnectReason.loggedOut && code !== DisconnectReason.forbidden) {
    return { action: 'reconnect-later', reason: 'could not reach WhatsApp' }
  }
  switch (code) {
    case DisconnectReason.restartRequired:
      return { action: 'reconnect-now', reason: 'restart required (normal after pairing)' }
    case DisconnectReason.loggedOut:
      return { action: 'reset', reason: 'logged out: the device was unlinked from the phone' }
    case DisconnectReason.forbidden:
      return { action: 'reset', reason: 'forbidden: WhatsApp refused this device (403)' }
    case 419:
      return { action: 'reset', reason: 'session expired (419)' }
    case DisconnectReason.connectionReplaced:
      return {
        action: 'stop',
        reason: 'connection replaced: another client opened this session (440); call POST /api/reconnect once the other client is gone',
      }
    case 405:
      return {
        action: 'stop',
        reason: 'WhatsApp rejected the client version (405): set WA_VERSION to a current WhatsApp Web version and restart',
      }
    case DisconnectReason.multideviceMismatch:
      return { action: 'stop', reason: 'multi-device mismatch (411): WhatsApp refused this client' }
    case DisconnectReason.timedOut:
      // Also what Baileys reports when nobody scanned any of the QR codes in time.
      return { action: 'reconnect-later', reason: context.paired ? 'connection lost or timed out' : 'QR codes expired without a scan' }
    case DisconnectReason.connectionClosed:
      return { action: 'reconnect-later', reason: 'connection closed' }
    case DisconnectReason.unavailableService:
      return { action: 'reconnect-later', reason: 'WhatsApp service unavailable (503)' }
    case DisconnectReason.badSession:
      return { action: 'reconnect-later', reason: 'stream error (500)' }
    default:
      return { action: 'reconnect-later', reason: code === undefined ? 'connection failed' : `disconnected (${code})` }
  }
}
