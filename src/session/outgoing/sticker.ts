// Stickers are WebP images of 512x512. A WebP is sent as it is; PNG, JPEG and GIF are converted
// with sharp (prebuilt libvips from npm), fitted into the square on a transparent background.
// sharp is imported on first use: it is large, and most services never send a sticker.
import { validationError } from '../../errors.js'

export const STICKER_SIZE = 512

export interface Sticker {
  bytes: Buffer
  animated: boolean
}

const isWebp = (bytes: Buffer) => bytes.subarray(0, 4).toString('latin1') === 'RIFF' && bytes.subarray(8, 12).toString('latin1') === 'WEBP'

/** A WebP is animated when its extended header (VP8X) has the animation flag. */
function isAnimatedWebp(bytes: Buffer): boolean {
  return bytes.subarray(12, 16).toString('latin1') === 'VP8X' && ((bytes[20] ?? 0) & 0x02) !== 0
}

export async function stickerFrom(bytes: Buffer, imageType: string | undefined, field: string): Promise<Sticker> {
  if (isWebp(bytes)) return { bytes, animated: isAnimatedWebp(bytes) }
  if (imageType !== 'image/png' && imageType !== 'image/jpeg' && imageType !== 'image/gif') {
    throw validationError([{ path: field, message: 'a sticker must be a WebP, PNG, JPEG or GIF image' }])
  }
  const { default: sharp } = await import('sharp')
  try {
    const webp = await sharp(bytes)
      .resize(STICKER_SIZE, STICKER_SIZE, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 } })
      .webp({ quality: 80 })
      .toBuffer()
    return { bytes: webp, animated: false }
  } catch (error) {
    throw validationError([{ path: field, message: `the image could not be read: ${error instanceof Error ? error.message : String(error)}` }])
  }
}
