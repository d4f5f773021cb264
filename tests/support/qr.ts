// Reads a QR code back from a PNG, as a phone's camera would.
import jsQRModule from 'jsqr'
import { PNG } from 'pngjs'

// jsqr is CommonJS whose typings claim an ES default export; at run time the module is the function.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as unknown as typeof jsQRModule.default

/** The text of the QR code in a PNG, or undefined when none can be read. */
export function decodeQrPng(png: Buffer): string | undefined {
  const image = PNG.sync.read(png)
  return jsQR(new Uint8ClampedArray(image.data), image.width, image.height)?.data
}
