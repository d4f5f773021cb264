// Starts the real service in-process on a loopback port with a temp SQLite file (or a given
// database URL), the way src/server.ts does, and stops it again.
import { mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { startService, type Service, type ServiceOptions } from '../../src/service.js'
import { loadConfig, type Config } from '../../src/config.js'

export interface TestService extends Service {
  config: Config
  /** Stops the service and removes its temp directory. */
  close(): Promise<void>
}

export function tempDir(prefix = 'wsgo-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix))
}

/** Configuration for a test: loopback, free port, quiet logs, a fresh SQLite file unless given. */
export function testConfig(env: Record<string, string | undefined> = {}, dir = tempDir()): Config {
  return loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    // Nothing listens here: a test that needs WhatsApp passes the stand-in's URL.
    WA_WS_URL: 'ws://127.0.0.1:9/ws/chat',
    DATABASE_URL: `file:${path.join(dir, 'wsgo.db')}`,
    ...env,
  })
}

export async function startTestService(env: Record<string, string | undefined> = {}, options: ServiceOptions = {}): Promise<TestService> {
  const dir = tempDir()
  const config = testConfig(env, dir)
  const service = await startService(config, { printQr: false, ...options })
  return {
    ...service,
    config,
    async close() {
      await service.stop()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
