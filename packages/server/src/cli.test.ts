import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHaldir, httpBackend } from '@haldir/core'
import { afterEach, describe, expect, it } from 'vitest'
import { createApiKey, hashApiKey } from './api-keys.ts'

const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
const children: ChildProcess[] = []
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL')
})

function run(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--conditions=@haldir/source', cli, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  let output = ''
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    for (let waited = 0; waited < 15_000; waited += 20) {
      const match = output.match(pattern)
      if (match) return match
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new Error(`timed out waiting for ${pattern}; output so far:\n${output}`)
  }
  return { child, exited, waitFor, output: () => output }
}

describe('haldir CLI', () => {
  it('serves, reads and verifies a trail from the terminal, and stops gracefully on SIGTERM', async () => {
    const key = createApiKey()
    const server = run(['serve', '--port', '0', '--backend', 'memory'], { HALDIR_API_KEYS: `acme=${key}` })
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+) \(backend: memory, 1 API key\)/)
    expect(await (await fetch(`${url}/healthz`)).json()).toMatchObject({ ok: true })

    const haldir = createHaldir({ backend: httpBackend({ url: url as string, apiKey: key }) })
    const session = await haldir.createSession({ agentId: 'cli-agent', scopes: ['read'], spendLimit: 1 })
    await haldir.authorizePayment(session.id, 0.25, { tool: 'search' })
    await haldir.checkPermission(session.id, 'send_email')

    const audit = run(['audit', '--session', session.id, '--url', url as string, '--key', key])
    expect(await audit.exited).toBe(0)
    expect(audit.output()).toMatch(/\| search \| OK \| \$0\.25$/m)
    expect(audit.output()).toMatch(/\| haldir \| BLOCKED \| \$0\.00 \| scope 'send_email' not granted/)
    expect(audit.output()).toContain('3 entries, 1 blocked')

    const verify = run(['verify', '--session', session.id, '--url', url as string], { HALDIR_API_KEY: key })
    expect(await verify.exited).toBe(0)
    expect(verify.output()).toContain('ok: 3 entries, chain intact')

    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
    expect(server.output()).toContain('haldir: stopped')
  })

  it('reads hashed keys from --keys-file', async () => {
    const key = createApiKey()
    const folder = mkdtempSync(join(tmpdir(), 'haldir-keys-'))
    const file = join(folder, 'keys.txt')
    writeFileSync(file, `# tenants\nacme=${hashApiKey(key)}\n`)
    const server = run(['serve', '--port', '0', '--keys-file', file], { HALDIR_API_KEYS: '' })
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+)/)
    expect((await fetch(`${url}/v1/sessions/ses_x`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(404)
    expect((await fetch(`${url}/v1/sessions/ses_x`, { headers: { authorization: 'Bearer hld_other' } })).status).toBe(401)
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })

  it('refuses to serve without API keys', async () => {
    const server = run(['serve', '--port', '0'], { HALDIR_API_KEYS: '' })
    expect(await server.exited).toBe(1)
    expect(server.output()).toContain('no API keys')
  })

  it('refuses an unknown backend', async () => {
    const server = run(['serve', '--port', '0', '--backend', 'mysql://x'], { HALDIR_API_KEYS: `a=${createApiKey()}` })
    expect(await server.exited).toBe(1)
    expect(server.output()).toContain("expected 'memory' or a postgres:// URL")
  })

  it('creates keys', async () => {
    const keys = run(['keys', 'create', '--tenant', 'acme'])
    expect(await keys.exited).toBe(0)
    expect(keys.output()).toMatch(/API key \(shown once\): hld_\S+\nconfigure the server with: acme=sha256:[0-9a-f]{64}/)
  })
})
