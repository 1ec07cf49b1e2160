import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('runs the core quickstart end to end', () => {
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', fileURLToPath(new URL('./main.ts', import.meta.url))], { encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toContain("BLOCKED: scope 'browse' not granted")
  expect(run.stdout).toMatch(/refused: Budget exceeded: \$0\.9 requested, \$0\.187 spent of \$1 \(limit of ancestor ses_/)
  expect(run.stdout).toContain('BLOCKED: session revoked')
  expect(run.stdout.match(/audit chain: verified/g)).toHaveLength(2)
  expect(run.stdout).toContain('crew spend: $0.187 of $1.00')
})
