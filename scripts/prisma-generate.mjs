// postinstall: render the provider schemas and generate both Prisma clients.
// `prisma generate` never runs the schema engine, but the CLI still tries to download it first;
// pointing PRISMA_SCHEMA_ENGINE_BINARY at any executable skips that download, so installs work
// with no host but the npm registry. Migrations use @prisma/schema-engine-wasm (src/store/migrate.ts).
import { execFileSync } from 'node:child_process'
import { createRequire } from 'node:module'
import { PROVIDERS, schemaPath, writeSchemas, root } from './prisma-schemas.mjs'

writeSchemas()
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js')
for (const provider of PROVIDERS) {
  execFileSync(process.execPath, [cli, 'generate', '--schema', schemaPath(provider)], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true', PRISMA_HIDE_UPDATE_MESSAGE: '1' },
  })
}
console.log('prisma: generated clients for', PROVIDERS.join(' and '))
