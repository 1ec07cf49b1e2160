import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('runs the governed generateText loop offline', () => {
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', fileURLToPath(new URL('./main.ts', import.meta.url))], { encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toContain('tool queryDb: {"rows":42,"sql":"select count(*) from orders"}')
  expect(run.stdout).toContain("denied: BLOCKED: scope 'db:admin' not granted")
  // 3 metered calls × (1500 × $3 + 200 × $15) / 1M + one $0.002 query
  expect(run.stdout).toContain("spend: $0.0245 of $0.05 { 'scripted-model': 0.0225, queryDb: 0.002 }")
  // session.create, 3 metered model calls and 1 governed query (each a reservation and its settle), 1 refusal.
  expect(run.stdout).toContain('audit: { ok: true, count: 10 }')
})
