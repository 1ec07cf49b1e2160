import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('runs the governed createAgent loop offline', () => {
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', fileURLToPath(new URL('./main.ts', import.meta.url))], { encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toContain('tool [success]: top result for "agent governance"')
  expect(run.stdout).toContain("tool [error]: BLOCKED: scope 'send_email' not granted")
  // 3 metered model calls × (1200 × $3 + 300 × $15) / 1M + 2 searches at $0.01
  expect(run.stdout).toContain("spend: $0.0443 of $0.05 { 'scripted-model': 0.0243, search: 0.02 }")
  // session.create, 3 metered model calls and 2 governed tool calls (each a reservation and its settle), 1 refusal.
  expect(run.stdout).toContain('audit: { ok: true, count: 12 }')
})
