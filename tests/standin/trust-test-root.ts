// Preload for a process that runs Baileys against a stand-in living in another process (e.g. the
// service started as a child of the test): `node --import tsx --import ./tests/standin/trust-test-root.ts ...`
// It makes that process's Baileys accept the stand-in's Noise certificate. TEST-ONLY.
import { trustTestRoot } from './noise.js'

trustTestRoot()
