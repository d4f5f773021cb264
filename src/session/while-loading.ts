// What requests meet in the second or so between the HTTP server listening and the WhatsApp side
// (Baileys) being loaded and started, see src/app.ts: the status says 'connecting' and there is no
// QR yet, and every other call waits for the real session or contacts book and is answered by it,
// so a request that comes early is slower, never wrong. src/app.ts swaps the real ones in before
// startService() returns.
import type { ContactBook } from './contacts.js'
import type { SessionStatus, WhatsAppSession } from './session.js'
import type { WhatsAppSide } from './whatsapp-side.js'

/** The session as request handlers reach it: its public surface minus the lifecycle that src/app.ts drives. */
export type SessionApi = Omit<Pick<WhatsAppSession, keyof WhatsAppSession>, 'start' | 'standby' | 'stop' | 'groupMetadata'>
/** The contacts book as the rest of the service reaches it, minus its one-time load. */
export type ContactsApi = Omit<Pick<ContactBook, keyof ContactBook>, 'load'>

const STARTING: SessionStatus = {
  connected: false,
  loggedIn: false,
  device: '',
  pushName: '',
  platform: '',
  state: 'connecting',
  lastDisconnect: null,
}

export class SessionWhileLoading implements SessionApi {
  constructor(private readonly side: Promise<WhatsAppSide>) {
    side.catch(() => {}) // a failed start is reported by startService(), not as an unhandled rejection here
  }

  private async real(): Promise<WhatsAppSession> {
    return (await this.side).session
  }

  status(): SessionStatus {
    return { ...STARTING }
  }

  currentQr(): string | undefined {
    return undefined
  }

  async reconnect(): Promise<void> {
    return (await this.real()).reconnect()
  }

  async logout(): Promise<void> {
    return (await this.real()).logout()
  }

  async sendText(...args: Parameters<WhatsAppSession['sendText']>) {
    return (await this.real()).sendText(...args)
  }

  async sendImage(...args: Parameters<WhatsAppSession['sendImage']>) {
    return (await this.real()).sendImage(...args)
  }

  async sendDocument(...args: Parameters<WhatsAppSession['sendDocument']>) {
    return (await this.real()).sendDocument(...args)
  }

  async groups() {
    return (await this.real()).groups()
  }

  async registeredNumbers(...args: Parameters<WhatsAppSession['registeredNumbers']>) {
    return (await this.real()).registeredNumbers(...args)
  }

  async requestPairingCode(...args: Parameters<WhatsAppSession['requestPairingCode']>) {
    return (await this.real()).requestPairingCode(...args)
  }
}

export class ContactsWhileLoading implements ContactsApi {
  constructor(private readonly side: Promise<WhatsAppSide>) {
    side.catch(() => {})
  }

  private async real(): Promise<ContactBook> {
    return (await this.side).contacts
  }

  /** Nothing is known before the book is loaded. */
  resolve = (_lid: string): string | undefined => undefined

  async rememberMappings(...args: Parameters<ContactBook['rememberMappings']>) {
    return (await this.real()).rememberMappings(...args)
  }

  async upsert(...args: Parameters<ContactBook['upsert']>) {
    return (await this.real()).upsert(...args)
  }

  async list() {
    return (await this.real()).list()
  }
}
