import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { createHaldir, httpBackend, IntegrityError } from '@haldir/core'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testSchema } from '@haldir/postgres/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { createApiKey } from './api-keys.ts'
import { cliOutcome } from './cli.test-helper.ts'

// The rotation runbook (docs/key-rotation.md), step by step, through real `haldir serve` restarts.
const unavailable = await databaseUnavailable()
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
const schema = testSchema()
const apiKey = createApiKey()

async function serve(env: Record<string, string>, flags: string[] = []): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = new URL(testDatabaseUrl)
  url.searchParams.set('schema', schema)
  const child: ChildProcess = spawn(process.execPath, ['--conditions=@haldir/source', cli, 'serve', '--port', '0', '--backend', url.href, ...flags], {
    env: { ...process.env, HALDIR_API_KEYS: `acme:admin=${apiKey}`, HALDIR_PREVIOUS_MASTER_KEYS: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const address = await new Promise<string>((resolve, reject) => {
    let output = ''
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (\S+) \(backend: postgres/.exec(output)
      if (match) resolve(match[1] as string)
    }
    child.stdout?.on('data', collect)
    child.stderr?.on('data', collect)
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${output}`)))
  })
  return {
    url: address,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve())
        child.kill('SIGTERM')
      }),
  }
}

afterAll(async () => {
  if (!unavailable) await dropSchema(schema)
})

describe.skipIf(unavailable)(`master key rotation through haldir serve restarts${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('keeps old trails verifying and old secrets opening with the old key as previous; reports them plainly without it', async () => {
    const oldKey = randomBytes(32).toString('hex')
    const newKey = randomBytes(32).toString('hex')

    // 1. Running on the old key.
    const before = await serve({ HALDIR_MASTER_KEY: oldKey })
    const client = (url: string) => createHaldir({ backend: httpBackend({ url, apiKey }) })
    const first = client(before.url)
    const session = await first.createSession({ agentId: 'long-lived', scopes: ['read'], spendLimit: 10, ttl: 86_400 })
    await first.authorizePayment(session.id, 1)
    await first.storeSecret('warehouse_password', 'pw-sealed-by-the-old-key', { scopeRequired: 'read' })
    await before.stop()

    // 2. Restarted with the new key and the old one as previous.
    const rotated = await serve({ HALDIR_MASTER_KEY: newKey, HALDIR_PREVIOUS_MASTER_KEYS: oldKey })
    const second = client(rotated.url)
    await second.authorizePayment(session.id, 2)
    expect(await second.getSecret('warehouse_password', { sessionId: session.id })).toBe('pw-sealed-by-the-old-key')
    expect(await second.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
    // 3. Re-store secrets under the new key (reading one already resealed it).
    await second.storeSecret('warehouse_password', 'pw-sealed-by-the-new-key', { scopeRequired: 'read' })
    await rotated.stop()

    // 4. Dropping the old key: new entries and secrets are fine; old entries name a key it no longer has.
    const dropped = await serve({ HALDIR_MASTER_KEY: newKey })
    const third = client(dropped.url)
    expect(await third.getSecret('warehouse_password', { sessionId: session.id })).toBe('pw-sealed-by-the-new-key')
    expect(await third.verifyAuditTrail(session.id)).toMatchObject({ ok: false, brokenAt: 1, reason: 'unknown_key' })
    await dropped.stop()

    // A server given neither key for an old secret says which key is missing, as a typed error.
    const wrong = await serve({ HALDIR_MASTER_KEY: randomBytes(32).toString('hex') })
    const lost = await client(wrong.url).getSecret('warehouse_password', { sessionId: session.id }).catch((error: unknown) => error)
    expect(IntegrityError.isInstance(lost)).toBe(true)
    await wrong.stop()
  }, 60_000)

  it('takes previous keys as repeatable flags beside the environment, in serve and in the commands that read the store', async () => {
    const oldKey = randomBytes(32).toString('hex')
    const olderAuditKey = randomBytes(32).toString('hex')
    const newKey = randomBytes(32).toString('hex')
    const before = await serve({ HALDIR_MASTER_KEY: oldKey })
    const first = createHaldir({ backend: httpBackend({ url: before.url, apiKey }) })
    const session = await first.createSession({ agentId: 'flagged-rotation', scopes: ['read'], spendLimit: 10, ttl: 86_400 })
    await first.authorizePayment(session.id, 1)
    await first.storeSecret('flag_rotated_password', 'pw-sealed-before-the-flags', { scopeRequired: 'read' })
    await before.stop()

    // The old key only as a flag (the environment names another earlier key, which is kept too).
    const rotated = await serve({ HALDIR_MASTER_KEY: newKey, HALDIR_PREVIOUS_AUDIT_KEYS: olderAuditKey }, ['--previous-master-key', oldKey, '--previous-audit-key', randomBytes(32).toString('base64')])
    const second = createHaldir({ backend: httpBackend({ url: rotated.url, apiKey }) })
    expect(await second.getSecret('flag_rotated_password', { sessionId: session.id })).toBe('pw-sealed-before-the-flags')
    expect(await second.verifyAuditTrail(session.id)).toMatchObject({ ok: true })
    await rotated.stop()

    // Reading the store itself: the trail verifies with the flag, and names the missing key without it.
    const url = new URL(testDatabaseUrl)
    url.searchParams.set('schema', schema)
    const store = ['--backend', url.href, '--tenant', 'acme', '--session', session.id]
    expect(await cliOutcome(['verify', ...store, '--previous-master-key', oldKey], { HALDIR_MASTER_KEY: newKey, HALDIR_PREVIOUS_MASTER_KEYS: '' })).toMatchObject({
      code: 0,
      stdout: expect.stringMatching(/^ok: \d+ entries, chain intact\n$/),
    })
    expect(await cliOutcome(['verify', ...store], { HALDIR_MASTER_KEY: newKey, HALDIR_PREVIOUS_MASTER_KEYS: '' })).toMatchObject({ code: 2, stdout: expect.stringContaining('(unknown_key)') })
  }, 60_000)
})
