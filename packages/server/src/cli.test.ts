import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHaldir, httpBackend } from '@haldir/core'
import { describe, expect, it } from 'vitest'
import { createApiKey, hashApiKey } from './api-keys.ts'
import { cliOutcome, runCli } from './cli.test-helper.ts'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
const run = runCli
const outcome = cliOutcome

describe('haldir CLI', () => {
  it('serves, reads and verifies a trail from the terminal, and stops gracefully on SIGTERM', async () => {
    const key = createApiKey()
    const server = run(['serve', '--port', '0', '--backend', 'memory'], { HALDIR_API_KEYS: `acme:admin=${key}` })
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

  it('says at start-up that a memory backend loses its state with the process', async () => {
    const server = run(['serve', '--port', '0'], { HALDIR_API_KEYS: `acme:admin=${createApiKey()}` })
    await server.waitFor(/listening on/)
    await server.waitFor(/WARNING: the memory backend keeps sessions, budgets, the audit trail and secrets in this process only; they are lost when it stops/)
  })

  it('reads hashed keys with roles from --keys-file, and applies the role', async () => {
    const admin = createApiKey()
    const auditor = createApiKey()
    const folder = mkdtempSync(join(tmpdir(), 'haldir-keys-'))
    const file = join(folder, 'keys.txt')
    writeFileSync(file, `# tenants\nacme:admin=${hashApiKey(admin)}\nacme:auditor=${hashApiKey(auditor)}\n`)
    const server = run(['serve', '--port', '0', '--keys-file', file], { HALDIR_API_KEYS: '' })
    const [, url] = await server.waitFor(/listening on (http:\/\/\S+)/)
    expect((await fetch(`${url}/native/v1/sessions/ses_x`, { headers: { authorization: `Bearer ${admin}` } })).status).toBe(404)
    expect((await fetch(`${url}/native/v1/sessions/ses_x`, { headers: { authorization: 'Bearer hld_other' } })).status).toBe(401)
    const create = await fetch(`${url}/native/v1/sessions`, { method: 'POST', headers: { authorization: `Bearer ${auditor}` }, body: '{}' })
    expect(create.status).toBe(403)
    server.child.kill('SIGTERM')
    expect(await server.exited).toBe(0)
  })

  it('refuses to serve without API keys, with a key line that names no role, and with an unknown backend', async () => {
    const [noKeys, noRole, mysql] = await Promise.all([
      outcome(['serve', '--port', '0'], { HALDIR_API_KEYS: '' }),
      outcome(['serve', '--port', '0'], { HALDIR_API_KEYS: `acme=${createApiKey()}` }),
      outcome(['serve', '--port', '0', '--backend', 'mysql://x'], { HALDIR_API_KEYS: `a:admin=${createApiKey()}` }),
    ])
    expect(noKeys).toMatchObject({ code: 1, output: expect.stringContaining('no API keys') })
    expect(noRole).toMatchObject({ code: 1, output: expect.stringContaining("the key of tenant 'acme' names no role: write acme:ROLE=…") })
    expect(mysql).toMatchObject({ code: 1, output: expect.stringContaining("expected 'memory' or a postgres:// URL") })
  })

  it('serves the Haldir API with tenants made through --bootstrap-token, their keys kept in --minted-keys-file across a restart', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'haldir-minted-')), 'minted.json')
    const token = 'bootstrap-token-for-the-cli-test'
    const first = run(['serve', '--port', '0', '--minted-keys-file', file], { HALDIR_API_KEYS: '', HALDIR_BOOTSTRAP_TOKEN: token })
    const [, url] = await first.waitFor(/listening on (http:\/\/\S+) \(backend: memory, 0 API keys\)/)
    const minted = await fetch(`${url}/v1/keys`, { method: 'POST', body: JSON.stringify({ bootstrap_token: token, name: 'founder' }) })
    expect(minted.status).toBe(201)
    const { key } = (await minted.json()) as { key: string }
    expect((await fetch(`${url}/v1/sessions`, { method: 'POST', headers: { 'x-api-key': key }, body: JSON.stringify({ agent_id: 'first' }) })).status).toBe(201)
    first.child.kill('SIGTERM')
    expect(await first.exited).toBe(0)
    // No configured key and no token: the minted key is enough to start, and still works.
    const second = run(['serve', '--port', '0', '--minted-keys-file', file], { HALDIR_API_KEYS: '', HALDIR_BOOTSTRAP_TOKEN: '' })
    const [, again] = await second.waitFor(/listening on (http:\/\/\S+) \(backend: memory, 1 API key\)/)
    expect((await fetch(`${again}/v1/usage`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200)
    expect((await fetch(`${again}/v1/keys`, { method: 'POST', body: JSON.stringify({ bootstrap_token: token }) })).status).toBe(401)
    second.child.kill('SIGTERM')
    expect(await second.exited).toBe(0)
  })

  it('creates keys with a role, and prints the role', async () => {
    const keys = await outcome(['keys', 'create', '--tenant', 'acme', '--role', 'auditor'])
    expect(keys.code).toBe(0)
    expect(keys.output).toMatch(/^API key \(shown once\): hld_\S+\nrole: auditor \(read sessions, spend and the audit trail[^\n]*\)\nconfigure the server with: acme:auditor=sha256:[0-9a-f]{64}\n$/)
  })

  it('answers --help, -h and --version, and documents --tenant and --role', async () => {
    const [help, short, serveHelp, keysHelp, versionFlag] = await Promise.all([
      outcome(['--help']),
      outcome(['-h']),
      outcome(['serve', '--help']),
      outcome(['keys', 'create', '--help']),
      outcome(['--version']),
    ])
    expect(help.code).toBe(0)
    expect(help.output).toMatch(/Usage: haldir \[options\] \[command\]/)
    for (const command of ['serve', 'keys', 'audit', 'verify', 'holds']) expect(help.output).toContain(command)
    expect(short).toEqual(help)
    expect(serveHelp.output).toMatch(/--rate-limit <limit>[\s\S]*--auth-failure-limit <limit>[\s\S]*--body-timeout <duration>/)
    expect(serveHelp.output).toMatch(/--publish-tree-heads <duration>[\s\S]*--bootstrap-token <token>[\s\S]*--mcp-upstream <url>[\s\S]*--previous-master-key <key>[\s\S]*--previous-audit-key <key>/)
    expect(keysHelp.output).toMatch(/--tenant <name>\s+the tenant the key acts for/)
    expect(keysHelp.output).toMatch(/--role <role>\s+what the key may do: admin/)
    expect(versionFlag).toMatchObject({ code: 0, output: `${version}\n` })
  })

  it('refuses bad flags with plain messages, and an unknown flag or command with the closest valid one', async () => {
    const key = `a:admin=${createApiKey()}`
    const results = await Promise.all([
      outcome(['serve', '--port', 'abc'], { HALDIR_API_KEYS: key }),
      outcome(['serve', '--port', '70000'], { HALDIR_API_KEYS: key }),
      outcome(['serve', '--prot', '8080'], { HALDIR_API_KEYS: key }),
      outcome(['srve']),
      outcome(['serve', '--rate-limit', 'lots'], { HALDIR_API_KEYS: key }),
      outcome(['serve', '--body-timeout', '10 parsecs'], { HALDIR_API_KEYS: key }),
      outcome(['serve'], { HALDIR_API_KEYS: key, HALDIR_AUTH_FAILURE_LIMIT: '-1/1m' }),
      outcome(['keys', 'create', '--tenant', 'acme', '--role', 'admn']),
      outcome(['keys', 'create', '--tenant', 'acme']),
      outcome(['keys', 'create', '--tenant', 'a b', '--role', 'agent']),
      outcome(['serve', '--keys-file', '/nonexistent/keys.txt']),
      outcome(['serve', '--host', 'not a host'], { HALDIR_API_KEYS: key }),
      outcome(['serve', '--host', 'nonexistent.invalid'], { HALDIR_API_KEYS: key }),
      outcome(['audit', '--session', 'ses_x', '--url', 'localhost:8787', '--key', 'hld_x']),
      outcome(['serve', '--previous-master-key', 'short'], { HALDIR_API_KEYS: key }),
      outcome(['serve', '--previous-master-key', 'a'.repeat(64)], { HALDIR_API_KEYS: key, HALDIR_PREVIOUS_MASTER_KEYS: 'nonsense' }),
      outcome(['serve', '--publish-tree-heads', 'sometimes'], { HALDIR_API_KEYS: key }),
      outcome(['audit', 'export', '--format', 'xml', '--key', 'hld_x']),
      outcome(['serve', '--mcp-upstream', 'ftp://tools.example'], { HALDIR_API_KEYS: key }),
    ])
    const expected = [
      "haldir: --port must be an integer between 0 and 65535, got 'abc'",
      "haldir: --port must be an integer between 0 and 65535, got '70000'",
      "haldir: unknown option '--prot'\n(Did you mean --port?)",
      "haldir: unknown command 'srve'\n(Did you mean serve?)",
      "haldir: --rate-limit must be 'off' or COUNT/DURATION with whole seconds, like 6000/1m or 30/60s, got 'lots'",
      "haldir: --body-timeout must be a duration like 500ms, 10s, 2m or 1h (at most 24h), got '10 parsecs'",
      "haldir: --auth-failure-limit must be 'off' or COUNT/DURATION with whole seconds, like 6000/1m or 30/60s, got '-1/1m'",
      "haldir: --role must be one of admin, agent, auditor, approver (did you mean admin?), got 'admn'",
      "haldir: required option '--role <role>' not specified",
      "haldir: --tenant must be 1–64 letters, digits, '.', '_' or '-' (not starting with a symbol), got 'a b'",
      'haldir: --keys-file /nonexistent/keys.txt cannot be read (no such file)',
      "haldir: --host must be an IP address or a host name, got 'not a host'",
      'haldir: --host nonexistent.invalid is not an address of this machine',
      "haldir: --url must be an http:// or https:// URL, got 'localhost:8787'",
      'haldir: --previous-master-key must be 32 bytes, as 64 hex characters or base64 (got 5 characters)',
      'haldir: HALDIR_PREVIOUS_MASTER_KEYS holds a key that is not 32 bytes (entry 1)',
      "haldir: --publish-tree-heads must be 'off' or a duration like 30s, 5m or 1h (at most 24h), got 'sometimes'",
      "haldir: option '--format <format>' argument 'xml' is invalid. Allowed choices are jsonl, csv.",
      "haldir: --mcp-upstream must be an http:// or https:// URL, got 'ftp://tools.example'",
    ]
    for (const [index, result] of results.entries()) {
      expect(result.code, expected[index]).toBe(1)
      expect(result.output.trim()).toBe(expected[index])
    }
  })
})
