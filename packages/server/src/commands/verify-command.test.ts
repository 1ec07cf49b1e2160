import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHaldir, type Haldir, httpBackend, memoryBackend, type TreeHead } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from '../api-keys.ts'
import { cliOutcome } from '../cli.test-helper.ts'
import { type RunningHaldirServer, serveHaldir } from '../serve-haldir.ts'

const admin = createApiKey()
const agent = createApiKey()
const folder = mkdtempSync(join(tmpdir(), 'haldir-verify-'))
let running: RunningHaldirServer
let haldir: Haldir
let publicKey: string
let sessionId: string

const serve = (port = 0) => serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'admin', key: admin }, { tenant: 'acme', role: 'agent', key: agent }]), port })

async function activity(client: Haldir, calls: number): Promise<string> {
  const session = await client.createSession({ agentId: 'exported', scopes: ['search'], spendLimit: 5 })
  for (let index = 0; index < calls; index++) await client.authorizePayment(session.id, 0.1, { tool: 'search' })
  return session.id
}

beforeAll(async () => {
  running = await serve()
  haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: admin }) })
  sessionId = await activity(haldir, 3)
  await activity(haldir, 2)
  const jwks = (await (await fetch(`${running.url}/.well-known/jwks.json`)).json()) as { keys: { x: string }[] }
  publicKey = (jwks.keys[0] as { x: string }).x
})
afterAll(() => running.close())

const server = () => ['--url', running.url, '--key', admin]

describe('haldir audit export and haldir verify --bundle', () => {
  it('exports the tenant as a JSONL bundle that verifies offline with the public key alone; one flipped byte fails it', async () => {
    const file = join(folder, 'tenant.jsonl')
    const exported = await cliOutcome(['audit', 'export', '--out', file, ...server()])
    expect(exported).toMatchObject({ code: 0, output: `haldir: wrote the tenant's bundle to ${file}\n` })
    const lines = readFileSync(file, 'utf8').trim().split('\n')
    const manifest = JSON.parse(lines.at(-1) as string) as { type: string; count: number; treeHead: TreeHead }
    expect(manifest).toMatchObject({ type: 'manifest', count: lines.length - 1, treeHead: { treeSize: lines.length - 1 } })

    const ok = await cliOutcome(['verify', '--bundle', file, '--public-key', publicKey])
    expect(ok).toMatchObject({ code: 0, stdout: `ok: ${lines.length - 1} entries in the signed log of ${lines.length - 1}\n` })
    // The same key as hex works too.
    expect((await cliOutcome(['verify', '--bundle', file, '--public-key', Buffer.from(publicKey, 'base64url').toString('hex')])).code).toBe(0)

    const tampered = join(folder, 'tampered.jsonl')
    writeFileSync(tampered, readFileSync(file, 'utf8').replace('"costUsd":0.1', '"costUsd":0.2'))
    const broken = await cliOutcome(['verify', '--bundle', tampered, '--public-key', publicKey])
    expect(broken.code).toBe(2)
    expect(broken.stdout).toMatch(/^BROKEN: 1 problem in .*\n {2}the entries do not hash to the signed root: an entry was altered\n$/)

    // A key that did not sign the head is no key at all.
    const stranger = await cliOutcome(['verify', '--bundle', file, '--public-key', 'a'.repeat(64)])
    expect(stranger.code).toBe(2)
    expect(stranger.stdout).toContain('is not signed by any of the given public keys')
  })

  it('checks a bundle against an earlier head kept by the verifier: an extension passes, a head of another log fails', async () => {
    const earlier = join(folder, 'earlier-head.json')
    writeFileSync(earlier, JSON.stringify(await haldir.getTreeHead()))
    await activity(haldir, 1)
    const file = join(folder, 'grown.jsonl')
    expect((await cliOutcome(['audit', 'export', '--out', file, ...server()])).code).toBe(0)
    const grown = await cliOutcome(['verify', '--bundle', file, '--public-key', publicKey, '--earlier-head', earlier])
    expect(grown.code).toBe(0)
    expect(grown.stdout).toMatch(/; it extends the earlier head of \d+\n$/)

    // A log with the same signing key but other entries: what a rewritten history looks like.
    const other = await serve()
    try {
      const otherClient = createHaldir({ backend: httpBackend({ url: other.url, apiKey: admin }) })
      await activity(otherClient, 2)
      const otherHead = join(folder, 'other-head.json')
      writeFileSync(otherHead, JSON.stringify({ treeHead: await otherClient.getTreeHead() }))
      const otherKey = ((await (await fetch(`${other.url}/.well-known/jwks.json`)).json()) as { keys: { x: string }[] }).keys[0]?.x as string
      const forked = await cliOutcome(['verify', '--bundle', file, '--public-key', publicKey, '--public-key', otherKey, '--earlier-head', otherHead])
      expect(forked.code).toBe(2)
      expect(forked.stdout).toMatch(/the first \d+ entries no longer match the earlier head: the log was rewritten/)
    } finally {
      await other.close()
    }
    const garbage = join(folder, 'garbage.json')
    writeFileSync(garbage, '{"treeSize": "many"}')
    expect(await cliOutcome(['verify', '--bundle', file, '--public-key', publicKey, '--earlier-head', garbage])).toMatchObject({
      code: 1,
      output: expect.stringContaining(`haldir: --earlier-head ${garbage} holds no signed tree head (treeSize:`),
    })
  })

  it("exports one session's entries with their audit paths (an agent key names its session), and CSV for spreadsheets", async () => {
    const file = join(folder, 'session.jsonl')
    expect((await cliOutcome(['audit', 'export', '--session', sessionId, '--out', file, '--url', running.url, '--key', agent])).code).toBe(0)
    const records = readFileSync(file, 'utf8').trim().split('\n').map((line) => JSON.parse(line) as { type: string; entry?: { sessionId: string }; auditPath?: string[] })
    expect(records.slice(0, -1).every((record) => record.type === 'entry' && record.entry?.sessionId === sessionId && Array.isArray(record.auditPath))).toBe(true)
    expect(records).toHaveLength(5) // session.create, three payments, the manifest
    expect(await cliOutcome(['verify', '--bundle', file, '--public-key', publicKey])).toMatchObject({ code: 0 })
    // The whole tenant is not an agent's to read.
    const whole = await cliOutcome(['audit', 'export', '--url', running.url, '--key', agent])
    expect(whole.code).toBe(1)
    expect(whole.output).toContain("may exportLedger only for a session it names")

    const csv = await cliOutcome(['audit', 'export', '--session', sessionId, '--format', 'csv', ...server()])
    expect(csv.code).toBe(0)
    const rows = csv.stdout.trim().split('\n')
    expect(rows[0]).toBe('leaf_index,id,session_id,agent_id,seq,timestamp,tool,action,scope,outcome,flagged,reason,cost_usd,details_json,ledger_json,key_id,prev_hash,hash')
    expect(rows).toHaveLength(5)
    expect(rows[2]).toMatch(new RegExp(`^\\d+,aud_[^,]+,${sessionId},exported,2,`))
  })

  it('refuses --bundle without a key, a key that is not one, and an unreadable file, plainly', async () => {
    const results = await Promise.all([
      cliOutcome(['verify', '--bundle', join(folder, 'tenant.jsonl')]),
      cliOutcome(['verify', '--bundle', join(folder, 'tenant.jsonl'), '--public-key', 'xyz']),
      cliOutcome(['verify', '--bundle', join(folder, 'missing.jsonl'), '--public-key', publicKey]),
      cliOutcome(['verify', '--public-key', publicKey, ...server()]),
    ])
    expect(results.map((result) => [result.code, result.output.trim()])).toEqual([
      [1, 'haldir: --bundle needs --public-key KEY (the tree-head signing key you trust, from /.well-known/jwks.json)'],
      [1, "haldir: --public-key must be a raw Ed25519 public key: 64 hex characters, or the 43-character base64url 'x' of a JWK (got 3 characters)"],
      [1, `haldir: --bundle ${join(folder, 'missing.jsonl')} cannot be read (no such file)`],
      [1, 'haldir: --public-key and --earlier-head go with --bundle FILE'],
    ])
  })
})

describe('haldir verify (online): the newest head against the last one seen', () => {
  it('keeps the last accepted head per log, accepts a log that grew, and reports a shrunk or forked log loudly with exit 2', async () => {
    const stateFile = join(folder, 'state', 'tree-heads.json')
    const first = await cliOutcome(['verify', '--state-file', stateFile, ...server()])
    expect(first.code).toBe(0)
    expect(first.stdout).toMatch(/^tree head: (\d+) entries, root [0-9a-f]{64}, signed \S+ by key [0-9a-f]{16}\nok: the first head this CLI sees for this log; kept to check the next one against\n$/)
    const kept = JSON.parse(readFileSync(stateFile, 'utf8')) as { version: number; logs: Record<string, { head: TreeHead }> }
    const [log] = Object.keys(kept.logs)
    expect(log).toMatch(new RegExp(`^${running.url}#key:[0-9a-f]{16}$`))
    expect(JSON.stringify(kept)).not.toContain(admin)
    const size = kept.logs[log as string]?.head.treeSize as number

    await activity(haldir, 2)
    const grown = await cliOutcome(['verify', '--state-file', stateFile, '--full', ...server()], { HALDIR_STATE_FILE: '/nonexistent/ignored.json' })
    expect(grown.code).toBe(0)
    expect(grown.stdout).toContain(`ok: consistent with the last head this CLI saw (${size} entries, `)
    expect(grown.stdout).toContain('every leaf, chain and balance recomputed')

    // The same URL and key, but a server that lost its log (a restart of a memory server): it shrank.
    const port = running.port
    await running.close()
    running = await serve(port)
    haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: admin }) })
    await activity(haldir, 1)
    const shrunk = await cliOutcome(['verify', '--state-file', stateFile, ...server()])
    expect(shrunk.code).toBe(2)
    expect(shrunk.stdout).toMatch(/^LOG SHRANK: this CLI saw a log of \d+ entries/m)
    expect(shrunk.output).toContain('haldir: the audit log is NOT consistent with what this CLI saw before (1 problem)')

    // It grows past the size seen, but from other entries: forked. The state still holds the head seen before.
    await activity(haldir, 20)
    const forked = await cliOutcome(['verify', '--state-file', stateFile, '--json', ...server()])
    expect(forked.code).toBe(2)
    const report = JSON.parse(forked.stdout) as { ok: boolean; problems: string[]; earlierHead: TreeHead }
    expect(report.ok).toBe(false)
    expect(report.problems[0]).toMatch(/^LOG FORKED: the log of \d+ entries does not extend the head of \d+ this CLI saw/)
    expect(report.earlierHead.treeSize).toBeGreaterThan(size)

    // A state file that is not one is refused, never reset (a reset would accept any log).
    writeFileSync(stateFile, 'not json')
    expect(await cliOutcome(['verify', '--state-file', stateFile, ...server()])).toMatchObject({ code: 1, output: expect.stringContaining(`haldir: the state file ${stateFile} is not JSON`) })
  })
})
