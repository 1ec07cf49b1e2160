import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, it } from 'vitest'

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { bin: Record<string, string>; engines: { node: string } }

// On an older Node the message is checked by scripts/packed-install.ts, which has one to run it on.
it('is the `haldir` command: on a recent enough Node it runs the CLI', () => {
  expect(manifest.bin['haldir']).toBe('./dist/bin.js')
  expect(manifest.engines.node).toMatch(/^>=\d+\.\d+\.\d+$/)
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', fileURLToPath(new URL('./bin.ts', import.meta.url)), '--help'], { encoding: 'utf8', timeout: 30_000 })
  expect(run.status).toBe(0)
  expect(run.stdout + run.stderr).toContain('haldir')
})
