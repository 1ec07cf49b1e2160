import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseProxyConfig } from '@haldir/mcp/proxy'
import { expect, it } from 'vitest'

it('governs an MCP client and serves the proxy, end to end', () => {
  const run = spawnSync(process.execPath, ['--conditions=@haldir/source', fileURLToPath(new URL('./main.ts', import.meta.url))], { encoding: 'utf8', timeout: 60_000 })
  expect(run.stderr).toBe('')
  expect(run.status).toBe(0)
  expect(run.stdout).toContain('tools: get-sum\nThe sum of 1 and 2 is 3.\n')
  expect(run.stdout).toContain("BLOCKED: scope 'echo' not granted (session has: math)")
  expect(run.stdout).toMatch(/The sum of 3 and 4 is 7\.\nBLOCKED: budget exceeded: \$0\.004 requested, \$0\.008 spent/)
  expect(run.stdout).toContain('spend: $0.008 of $0.01')
  expect(run.stdout).toContain("tools: echo\nEcho: governed\nBLOCKED: scope 'math' not granted (session has: read)")
  expect(run.stdout).toMatch(/\| echo \| OK \| \$0\.00\n.*\| get-sum \| BLOCKED \| \$0\.00 \| scope 'math' not granted/)
  expect(run.stdout).toContain('audit chain: verified')
})

it('ships a proxy configuration that validates', () => {
  const config = parseProxyConfig(JSON.parse(readFileSync(fileURLToPath(new URL('../proxy.json', import.meta.url)), 'utf8')))
  expect(config.session?.create).toMatchObject({ agentId: 'claude-desktop', scopes: ['math', 'read'] })
})
