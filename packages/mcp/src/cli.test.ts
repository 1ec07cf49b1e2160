import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--conditions=@haldir/source', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

describe('haldir-mcp CLI', () => {
  it('prints its usage on stderr (stdout is reserved for MCP)', async () => {
    const help = await run(['--help'])
    expect(help).toMatchObject({ code: 0, stdout: '' })
    expect(help.stderr).toContain('haldir-mcp proxy --config FILE [--http PORT]')
    expect((await run(['serve'])).stderr).toContain("unknown command 'serve'")
  })

  it('exits 1 with the configuration problem, before starting anything', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'haldir-mcp-cli-')), 'proxy.json')
    writeFileSync(file, JSON.stringify({ upstreams: { pay: { comand: 'node' } }, session: { create: { agentId: 'a' } } }))
    const result = await run(['proxy', '--config', file])
    expect(result).toMatchObject({ code: 1, stdout: '' })
    expect(result.stderr).toContain(`haldir-mcp: Invalid proxy configuration ${file}: upstreams.pay: unknown key 'comand' (did you mean 'command'?)`)
    expect((await run(['proxy'])).stderr).toContain('--config FILE is required')
    expect((await run(['proxy', '--config', file, '--http', 'eighty'])).stderr).toContain("--http must be a port number, got 'eighty'")
  })
})
