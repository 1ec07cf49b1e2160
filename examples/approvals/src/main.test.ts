import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('an agent pauses for a $20 purchase, a person approves it from the CLI while the crew waits, and it runs once', () => {
  const main = fileURLToPath(new URL('./main.ts', import.meta.url))
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', main], { encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  const out = run.stdout
  expect(out).toMatch(/^Agent buyer waits: purchase \$20\.00 \(purchases over \$10 need a person\), approval apr_\S+$/m)
  expect(out).toContain('held for it: $20.00; left for everyone else: $5.00')
  expect(out).toMatch(/^apr_\S+ \| approved \| buyer \| purchase \| \$20\.00 \| purchases over \$10 need a person \| approved by facilities@acme\.example: within the office budget$/m)
  expect(out).toContain('Crew: completed: Ordered the standing desk (order #4711).')
  expect(out).toContain('Crew spend: $20.00 of $25.00, $0.00 still held')
  expect(out).toContain('All audit chains verified.')
})
