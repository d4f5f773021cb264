// Renders prisma/models.prisma into one schema per database provider. Prisma fixes the provider
// per schema file, so SQLite and PostgreSQL each get their own schema, client and migrations,
// generated from the same models so they cannot drift apart.
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const PROVIDERS = ['sqlite', 'postgresql']

export function renderSchema(provider) {
  const models = readFileSync(path.join(root, 'prisma/models.prisma'), 'utf8')
  const header = `// GENERATED from prisma/models.prisma by scripts/prisma-schemas.mjs: do not edit.

generator client {
  provider            = "prisma-client"
  output              = "../../src/store/generated/${provider}"
  moduleFormat        = "esm"
  importFileExtension = "js"
}

datasource db {
  provider = "${provider}"
}
`
  return `${header}\n${models}`
}

export function schemaPath(provider) {
  return path.join(root, 'prisma', provider, 'schema.prisma')
}

export function writeSchemas() {
  for (const provider of PROVIDERS) {
    mkdirSync(path.dirname(schemaPath(provider)), { recursive: true })
    writeFileSync(schemaPath(provider), renderSchema(provider))
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) writeSchemas()
