// npm run build (also run before `npm start`): bundles src/server.ts into dist/ with esbuild, so the
// service runs on plain node. Under tsx every start transpiles the sources again, which costs about
// 0.5 s and 30 MB.
// - Packages stay external: node_modules is there at run time, and bundling them would break
//   native addons (better-sqlite3) and the WebAssembly loaders of Prisma.
// - `splitting` keeps the modules imported dynamically (the WhatsApp side, src/session/load-whatsapp.ts) in chunks of
//   their own; in one file their imports of Baileys would be hoisted and loaded before listen().
// - Files read at run time (src/http/pages, prisma/) are found from the package root, see
//   src/package-root.ts, so dist/ needs nothing copied next to it.
// - Baileys, external like every package, is loaded from node_modules: each build first makes sure
//   that copy carries scripts/patch-baileys.mjs (real signature checks, receipts after the store), and
//   fails if it cannot.
import { mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { build } from 'esbuild'
import { patchBaileys } from './patch-baileys.mjs'
import { root } from './prisma-schemas.mjs'

export const outdir = path.join(root, 'dist')

export async function buildServer() {
  patchBaileys()
  const { outputFiles } = await build({
    absWorkingDir: root,
    entryPoints: { server: 'src/server.ts' },
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    // For stack traces in source terms, run with NODE_OPTIONS=--enable-source-maps (off by default:
    // it makes node read the maps at start-up).
    sourcemap: 'linked',
    logLevel: 'warning',
    write: false,
  })
  // A service may be running from dist/ while this rebuilds it (its WhatsApp chunk loads after
  // start-up): every file is replaced by a rename, never seen half-written, and only files this
  // build did not produce are removed.
  const written = new Set()
  for (const file of outputFiles) {
    mkdirSync(path.dirname(file.path), { recursive: true })
    const temporary = `${file.path}.${process.pid}.tmp`
    writeFileSync(temporary, file.contents)
    renameSync(temporary, file.path)
    written.add(file.path)
  }
  for (const entry of readdirSync(outdir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath ?? entry.path, entry.name)
    if (entry.isFile() && !written.has(file)) rmSync(file, { force: true })
  }
}

if (process.argv[1] === import.meta.filename) {
  const started = performance.now()
  await buildServer()
  console.log(`build: dist/server.mjs in ${Math.round(performance.now() - started)} ms`)
}
