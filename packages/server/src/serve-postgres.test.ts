import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { BudgetExceededError, createHaldir, httpBackend } from '@haldir/core'
import { databaseUnavailable, dropSchema, testDatabaseUrl, testMasterKey, testSchema } from '@haldir/postgres/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { createApiKey } from './api-keys.ts'
import { countingFetch } from './counting-fetch.test-helper.ts'

const unavailable = await databaseUnavailable()
const cli = fileURLToPath(new URL('./cli.ts', import.meta.url))
const schema = testSchema()
const children: ChildProcess[] = []

async function serve(apiKey: string): Promise<string> {
  const url = new URL(testDatabaseUrl)
  url.searchParams.set('schema', schema)
  const child = spawn(process.execPath, ['--conditions=@haldir/source', cli, 'serve', '--port', '0', '--backend', url.href], {
    env: { ...process.env, HALDIR_API_KEYS: `acme:admin=${apiKey}`, HALDIR_MASTER_KEY: testMasterKey },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.push(child)
  return new Promise((resolve, reject) => {
    let output = ''
    const collect = (chunk: Buffer) => {
      output += chunk.toString()
      const match = /listening on (\S+) \(backend: postgres/.exec(output)
      if (match) resolve(match[1] as string)
    }
    child.stdout.on('data', collect)
    child.stderr.on('data', collect)
    child.once('exit', (code) => reject(new Error(`server exited ${code}: ${output}`)))
  })
}

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM')
  await Promise.all(children.map((child) => new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.once('exit', resolve)))))
  if (!unavailable) await dropSchema(schema)
})

describe.skipIf(unavailable)(`haldir serve --backend postgres://${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('runs on PostgreSQL, and two servers on one database share one budget', async () => {
    const apiKey = createApiKey()
    const first = await serve(apiKey)
    const second = await serve(apiKey)
    expect(first).not.toBe(second)
    // Each client's concurrent gates travel batched; on the server they share group commits.
    const wire = countingFetch()
    const viaFirst = createHaldir({ backend: httpBackend({ url: first, apiKey, fetch: wire.fetch }) })
    const viaSecond = createHaldir({ backend: httpBackend({ url: second, apiKey, fetch: wire.fetch }) })
    const crew = await viaFirst.createSession({ agentId: 'crew', spendLimit: 1, scopes: ['*'] })
    const member = await viaSecond.createSession({ agentId: 'member', parentId: crew.id, scopes: ['read'] })
    const charges = Array.from({ length: 40 }, (_, index) => (index % 2 ? viaFirst : viaSecond).authorizePayment(index % 3 ? member.id : crew.id, 0.1))
    const results = await Promise.allSettled(charges)
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(10)
    expect(results.every((result) => result.status === 'fulfilled' || BudgetExceededError.isInstance(result.reason))).toBe(true)
    expect(await viaFirst.getSpend(crew.id)).toMatchObject({ totalUsd: 1, remainingUsd: 0 })
    expect(await viaSecond.getSpend(crew.id)).toMatchObject({ totalUsd: 1, remainingUsd: 0 })
    expect(await viaSecond.verifyAuditTrail(member.id)).toMatchObject({ ok: true })
    expect(wire.calls.filter((call) => call === 'POST /native/v1/authorizations').length).toBeGreaterThanOrEqual(2)
  }, 60_000)
})
