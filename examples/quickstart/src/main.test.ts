import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

it('runs the core quickstart end to end', () => {
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', fileURLToPath(new URL('./main.ts', import.meta.url))], { encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toContain("BLOCKED: scope 'browse' not granted")
  // Spent and still-reserved (a settle lands after its caller has the result) add up to $0.187.
  const refusal = /refused: Budget exceeded: \$0\.9 requested, \$([\d.]+) spent(?: and \$([\d.]+) reserved)? of \$1 \(limit of ancestor ses_/.exec(run.stdout)
  expect(refusal).not.toBeNull()
  expect(Math.round((Number(refusal?.[1]) + Number(refusal?.[2] ?? 0)) * 1e6)).toBe(187_000)
  expect(run.stdout).toContain('BLOCKED: session revoked')
  expect(run.stdout.match(/audit chain: verified/g)).toHaveLength(2)
  expect(run.stdout).toContain('crew spend: $0.187 of $1.00')
})
