// `import type { AppRouter } from 'wsgo-ts/client'` from another project gets the full types: a
// consumer project (the repository linked in as its dependency) is type-checked with tsc.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tempDir } from './support/service.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

test('a TypeScript client in another project gets typed procedures from wsgo-ts/client', { timeout: 120_000 }, () => {
  const dir = tempDir('wsgo-client-')
  try {
    mkdirSync(path.join(dir, 'node_modules/@trpc'), { recursive: true })
    symlinkSync(root, path.join(dir, 'node_modules/wsgo-ts'))
    symlinkSync(path.join(root, 'node_modules/@trpc/client'), path.join(dir, 'node_modules/@trpc/client'))
    symlinkSync(path.join(root, 'node_modules/@trpc/server'), path.join(dir, 'node_modules/@trpc/server'))
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', type: 'module' }))
    writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: true, types: [] }, files: ['client.ts'] }),
    )
    const client = (body: string) =>
      writeFileSync(
        path.join(dir, 'client.ts'),
        `import { createTRPCClient, httpBatchLink } from '@trpc/client'
import type { AppRouter } from 'wsgo-ts/client'
const wsgo = createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: 'http://localhost:8080/trpc' })] })
export async function main() {
${body}
}
`,
      )
    const tsc = () => spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', dir], { encoding: 'utf8' })

    client(`  const sent = await wsgo.messages.sendText.mutate({ phone: '573001234567', message: 'hi' })
  const id: string = sent.messageID
  const status = await wsgo.session.status.query()
  const loggedIn: boolean = status.loggedIn
  return [id, loggedIn]`)
    const ok = tsc()
    assert.equal(ok.status, 0, ok.stdout + ok.stderr)

    // And the types are real: a wrong field is a compile error in the consumer.
    client(`  await wsgo.messages.sendText.mutate({ phone: '573001234567', text: 'hi' })`)
    const wrong = tsc()
    assert.notEqual(wrong.status, 0)
    assert.match(wrong.stdout, /text/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
