// Makes Baileys' signature checks real (issue 18, item 12). Run at install (postinstall, before the
// Prisma step) and by every build (scripts/build.mjs, so also before `npm start`).
//
// @whiskeysockets/baileys 7.0.0-rc14's `Curve.verify` (lib/Utils/crypto.js) calls libsignal's
// `verifySignature`, which *returns* false for a bad signature (it only throws on malformed input),
// and then returns true regardless. Every caller trusts that boolean: the Noise handshake's
// certificate chain (Utils/noise-handler.js) and the ADV account signature at pairing
// (Utils/validate-connection.js), so both accepted anything. This rewrites that one function to
// return libsignal's answer.
//
// Why a patch of the installed file rather than wrapping `Curve.verify` from the service: the fix
// then holds for every importer of Baileys in the process (the service under tsx, the esbuild bundle,
// which keeps packages external and so loads this same file, and the test stand-in), with no
// load-order to get right. Install scripts are already required (Prisma's clients are generated
// there), so the patch is as present as the rest of the install.
//
// Checked, not blind: the file must hold exactly the rc14 text (then it is patched) or the patched
// text (then nothing is written). Anything else fails loudly: Baileys changed, and this patch must be
// reviewed (dropped if upstream fixed it) rather than silently skipped.
import { readFileSync, renameSync, statSync, writeFileSync, chmodSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const baileysPackage = createRequire(path.join(root, 'package.json')).resolve('@whiskeysockets/baileys/package.json')

/** The installed lib/Utils/crypto.js of @whiskeysockets/baileys. */
export const BAILEYS_CRYPTO_FILE = path.join(path.dirname(baileysPackage), 'lib', 'Utils', 'crypto.js')

const ORIGINAL = `    verify: (pubKey, message, signature) => {
        try {
            curve.verifySignature(generateSignalPubKey(pubKey), message, signature);
            return true;
        }
        catch (error) {
            return false;
        }
    }
`

const PATCHED = `    verify: (pubKey, message, signature) => {
        // wsgo-ts scripts/patch-baileys.mjs: libsignal returns false for a bad signature, it does not throw
        try {
            return curve.verifySignature(generateSignalPubKey(pubKey), message, signature) === true;
        }
        catch (error) {
            return false;
        }
    }
`

const count = (text, part) => text.split(part).length - 1

function baileysVersion() {
  try {
    return JSON.parse(readFileSync(baileysPackage, 'utf8')).version
  } catch {
    return 'unknown'
  }
}

/**
 * 'original' (Baileys as shipped, to be patched) or 'patched'. Throws if the file's Curve.verify is
 * neither: the patch no longer knows this Baileys.
 */
export function inspectBaileysCrypto(file = BAILEYS_CRYPTO_FILE) {
  const text = readFileSync(file, 'utf8')
  const original = count(text, ORIGINAL)
  const patched = count(text, PATCHED)
  if (patched === 1 && original === 0) return 'patched'
  if (original === 1 && patched === 0) return 'original'
  throw new Error(
    `scripts/patch-baileys.mjs: Curve.verify in ${file} (@whiskeysockets/baileys ${baileysVersion()}) is not the code this patch ` +
      'knows. Baileys changed: check whether Curve.verify now returns the result of verifySignature, then update or drop this patch.',
  )
}

/** Patches the file if it is Baileys as shipped; 'patched' or 'already patched'. Throws as inspectBaileysCrypto does. */
export function patchBaileysCrypto(file = BAILEYS_CRYPTO_FILE) {
  if (inspectBaileysCrypto(file) === 'patched') return 'already patched'
  const text = readFileSync(file, 'utf8')
  // Written aside and renamed in place: a process loading Baileys meanwhile sees one version or the other.
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, text.replace(ORIGINAL, PATCHED))
  chmodSync(temporary, statSync(file).mode & 0o777)
  renameSync(temporary, file)
  if (inspectBaileysCrypto(file) !== 'patched') throw new Error(`scripts/patch-baileys.mjs: ${file} did not take the patch`)
  return 'patched'
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const result = patchBaileysCrypto()
  console.log(`baileys: Curve.verify ${result} (${path.relative(root, BAILEYS_CRYPTO_FILE)})`)
}
