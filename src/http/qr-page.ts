// GET /qr: the pairing page for a person with a browser. It is public and holds no data: its script
// (pages/qr.js) fetches the status, the QR and a pairing code from the protected API with the key
// the person types in. The HTML, CSS and script are edited as real files and served as one
// self-contained page, under a Content-Security-Policy that allows exactly that inline style and
// script, images from data: URLs and requests to this origin.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { RequestHandler } from 'express'
import { packageRoot } from '../package-root.js'

// From the package root, not from this module: in the dist/ bundle this module has no folder of its own.
const read = (name: string) => readFileSync(path.join(packageRoot, 'src/http/pages', name), 'utf8')
const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`

/** The page, read once: qr.html with its STYLE and SCRIPT placeholder comments replaced by qr.css and qr.js. */
export function qrPage(): RequestHandler {
  const style = read('qr.css')
  const script = read('qr.js')
  const html = read('qr.html')
    .replace('/*STYLE*/', () => style)
    .replace('/*SCRIPT*/', () => script)
  const policy = [
    "default-src 'none'",
    `style-src ${hash(style)}`,
    `script-src ${hash(script)}`,
    'img-src data:',
    "connect-src 'self'",
    "base-uri 'none'",
    // The forms are sent by the script; without it, nothing (the key must never end up in a URL).
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ')
  return (_req, res) => {
    res.set({
      'Content-Security-Policy': policy,
      'Cache-Control': 'no-cache',
      'Referrer-Policy': 'no-referrer',
      'X-Content-Type-Options': 'nosniff',
    })
    res.type('html').send(html)
  }
}
