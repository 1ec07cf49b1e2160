import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('runs the seed scenario offline: one blocked attempt per agent, budgets held, audit verified', () => {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url))
  const env = { ...process.env, OPENAI_API_KEY: '', ANTHROPIC_API_KEY: '' }
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', main], { env, encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  const out = run.stdout
  expect(out).toContain('Model: scripted (offline)')
  expect(out).toMatch(/tasks: 3\/3 completed/)
  for (const role of ['researcher', 'analyst', 'writer']) expect(out).toMatch(new RegExp(`Agent: ${role} \\(ses_[^)]+\\)\\n  actions: \\d+ \\(1 blocked\\)`))
  expect(out.match(/\| BLOCKED \|/g)).toHaveLength(3)
  expect(out).toMatch(/Crew spend: \$0\.\d{4} of \$15\.00/)
  expect(out).toContain('All audit chains verified.')
})
