// The served OpenAPI document passes a well-kept OpenAPI linter (Redocly CLI, the rules of
// redocly.yaml): no errors, and every example fits its schema (an error there, by that config).
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { startTestService, tempDir } from './support/service.js'

const root = path.resolve(import.meta.dirname, '..')

test('redocly lint finds no problem in /openapi.json', { timeout: 120_000 }, async () => {
  const service = await startTestService({ API_KEY: 'lint-key' })
  const file = path.join(tempDir('wsgo-openapi-lint-'), 'openapi.json')
  try {
    writeFileSync(file, await (await fetch(`${service.url}/openapi.json`)).text())
  } finally {
    await service.close()
  }
  const result = await promisify(execFile)(process.execPath, [path.join(root, 'node_modules/@redocly/cli/bin/cli.js'), 'lint', file, '--config', path.join(root, 'redocly.yaml'), '--format=stylish'], {
    cwd: root,
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    (done) => ({ code: 0, output: done.stdout + done.stderr }),
    (failed: { code?: number; stdout?: string; stderr?: string }) => ({ code: failed.code ?? 1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` }),
  )
  // The whole report on failure: which rule, where.
  assert.equal(result.code, 0, result.output)
  assert.match(result.output, /Woohoo! Your API description is valid|validated in/)
  // Warnings too: the ones accepted are turned off in redocly.yaml, each with its reason.
  assert.doesNotMatch(result.output, /\d+:\d+\s+warning/, result.output)
})
