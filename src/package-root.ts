// The directory the package is installed in (the one holding package.json, prisma/ and src/).
// Found by walking up from this module rather than by a fixed '../..', because the same code runs
// from src/ (tsx, the tests) and from the dist/server.mjs bundle, where every module shares the
// bundle's import.meta.url.
import { existsSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${from}`)
  }
}

export const packageRoot = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)))
