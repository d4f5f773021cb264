// Debian's Chromium driven by playwright-core, for the pages a person uses (/qr, /docs); QR decoding
// of what the browser shows; and the folder the screenshots go to.
import { existsSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { chromium, type Browser } from 'playwright-core'
import { decodeQrPng } from './qr.js'

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or undefined when they can. */
export const chromiumMissing = existsSync(CHROMIUM_PATH)
  ? undefined
  : `chromium is not installed at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`

/** Screenshots for a person to look at (git-ignored). */
export const SCREENSHOT_DIR = fileURLToPath(new URL('../.artifacts/screenshots/', import.meta.url))

export function screenshotPath(name: string): string {
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  return `${SCREENSHOT_DIR}${name}.png`
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // Without the background-networking flags Chromium's own outbound connections are refused
    // here and it stalls; nothing in these tests leaves loopback.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    timeout: 30_000,
  })
}

/** The text of the QR code in a `data:image/png;base64,...` URL. */
export function decodeQrDataUrl(url: string): string | undefined {
  const match = /^data:image\/png;base64,(.+)$/.exec(url)
  return match ? decodeQrPng(Buffer.from(match[1]!, 'base64')) : undefined
}
