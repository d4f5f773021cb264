// Audio for WhatsApp. A voice note (`ptt`) is played by WhatsApp only when it is Ogg/Opus: other
// audio is converted with ffmpeg when it is on the PATH, and refused with a 400 that says why when
// it is not. Plain audio is sent as it is, typed from its bytes.
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { validationError } from '../../errors.js'

export const VOICE_NOTE_TYPE = 'audio/ogg; codecs=opus'
/** A conversion that takes longer is stopped: it is a file nobody would listen to as a voice note. */
const CONVERT_TIMEOUT_MS = 120_000

const ascii = (bytes: Buffer, start: number, end: number) => bytes.subarray(start, end).toString('latin1')

/** Ogg whose first stream is Opus: the `OpusHead` packet opens the first page. */
export function isOggOpus(bytes: Buffer): boolean {
  return ascii(bytes, 0, 4) === 'OggS' && bytes.subarray(0, 128).includes('OpusHead')
}

/** The audio type of some bytes, from their signature; undefined when it is none WhatsApp plays. */
export function sniffAudioType(bytes: Buffer): string | undefined {
  if (isOggOpus(bytes)) return VOICE_NOTE_TYPE
  if (ascii(bytes, 0, 4) === 'OggS') return 'audio/ogg'
  if (ascii(bytes, 0, 3) === 'ID3' || (bytes[0] === 0xff && bytes[1] !== undefined && (bytes[1] & 0xe6) === 0xe2)) return 'audio/mpeg'
  if (bytes[0] === 0xff && bytes[1] !== undefined && (bytes[1] & 0xf6) === 0xf0) return 'audio/aac'
  if (ascii(bytes, 4, 8) === 'ftyp') return 'audio/mp4'
  if (ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WAVE') return 'audio/wav'
  if (ascii(bytes, 0, 5) === '#!AMR') return 'audio/amr'
  if (ascii(bytes, 0, 4) === 'fLaC') return 'audio/flac'
  if (bytes.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))) return 'audio/webm'
  return undefined
}

export type FfmpegOutcome = { ok: true } | { ok: false; missing: true } | { ok: false; missing: false; detail: string }

/** Runs ffmpeg with these arguments; `missing` when there is no ffmpeg on the PATH. */
export function runFfmpeg(args: string[], timeoutMs = CONVERT_TIMEOUT_MS): Promise<FfmpegOutcome> {
  return new Promise((resolve) => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2_000)
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      resolve(error.code === 'ENOENT' ? { ok: false, missing: true } : { ok: false, missing: false, detail: error.message })
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve({ ok: true })
      else resolve({ ok: false, missing: false, detail: signal ? `stopped after ${timeoutMs / 1000} s` : stderr.trim().split('\n').at(-1) || `exit code ${code}` })
    })
  })
}

/**
 * The bytes of a voice note: Ogg/Opus as given, anything else converted to it (mono, 48 kHz, the
 * format WhatsApp's own recorder writes). `field` is named in the 400s.
 */
export async function voiceNoteBytes(bytes: Buffer, field: string): Promise<Buffer> {
  if (isOggOpus(bytes)) return bytes
  const dir = await mkdtemp(path.join(os.tmpdir(), 'wsgo-voice-'))
  try {
    const input = path.join(dir, 'input')
    const output = path.join(dir, 'voice.ogg')
    await writeFile(input, bytes)
    const outcome = await runFfmpeg(['-i', input, '-vn', '-map_metadata', '-1', '-ac', '1', '-ar', '48000', '-c:a', 'libopus', '-b:a', '32k', '-application', 'voip', '-f', 'ogg', output])
    if (outcome.ok) return await readFile(output)
    const kind = sniffAudioType(bytes) ?? 'not Ogg/Opus'
    const message = outcome.missing
      ? `WhatsApp plays only Ogg/Opus as a voice note; this audio is ${kind}, and ffmpeg, which would convert it, is not installed on the server: send Ogg/Opus, or install ffmpeg`
      : `WhatsApp plays only Ogg/Opus as a voice note, and this audio (${kind}) could not be converted: ${outcome.detail}`
    throw validationError([{ path: field, message }])
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
