// Video for WhatsApp: MP4 (H.264/AAC) is what every WhatsApp client plays; 3GP is accepted too.
// The type comes from the bytes' signature, like images.

/** `video/mp4` or `video/3gpp` from the ISO-BMFF brand; undefined when the bytes are no such file. */
export function sniffVideoType(bytes: Buffer): string | undefined {
  if (bytes.subarray(4, 8).toString('latin1') !== 'ftyp') return undefined
  const brand = bytes.subarray(8, 12).toString('latin1')
  if (brand.startsWith('3g')) return 'video/3gpp'
  // M4A files are ISO-BMFF too: an audio-only brand is not a video.
  if (brand === 'M4A ' || brand === 'M4B ') return undefined
  return 'video/mp4'
}
