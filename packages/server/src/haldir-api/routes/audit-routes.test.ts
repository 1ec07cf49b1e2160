import { memoryBackend } from '@haldir/core'
import { memoryAuditTamper } from '@haldir/core/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type HaldirApiServer, haldirApiServer, hex, ids } from '../haldir-api.test-helper.ts'

const backend = memoryBackend()
let api: HaldirApiServer
let sessionId: string
beforeAll(async () => {
  api = await haldirApiServer({ backend })
  sessionId = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'auditor-agent', scopes: ['read', 'spend:10'] } })).body as { session_id: string }).session_id
})
afterAll(() => api.close())

interface Entry {
  entry_id: string
  session_id: string
  agent_id: string
  action: string
  tool: string
  cost_usd: number
  flagged: boolean
  flag_reason: string
  timestamp: number
  details: unknown
  prev_hash: string
  entry_hash: string
}
const log = (body: unknown, key?: string) => api.call('POST', '/v1/audit', { body, ...(key ? { key } : {}) })

describe('POST /v1/audit', () => {
  it('logs an action with upstream fields (201), the cost exact and recorded, not charged; defaults tool "" and details {}', async () => {
    const logged = await log({ session_id: sessionId, action: 'search', tool: 'web', cost_usd: 0.005, details: { query: 'haldir', nested: { a: 1 } } })
    expect(logged).toMatchObject({ status: 201, body: { logged: true, entry_id: expect.stringMatching(ids.entry), flagged: false, flag_reason: '' } })
    const bare = await log({ session_id: sessionId, action: 'think', details: null })
    expect(bare.status).toBe(201)
    const entries = ((await api.call('GET', `/v1/audit?session_id=${sessionId}&limit=2`)).body as { entries: Entry[] }).entries
    expect(entries[0]).toEqual({
      entry_id: bare.body.entry_id,
      session_id: sessionId,
      agent_id: 'auditor-agent',
      action: 'think',
      tool: '',
      cost_usd: 0,
      flagged: false,
      flag_reason: '',
      timestamp: expect.any(Number),
      details: {},
      prev_hash: entries[1]?.entry_hash,
      entry_hash: expect.stringMatching(hex(64)),
      outcome: 'ok',
      seq: expect.any(Number),
    })
    // Sub-cent costs stay (upstream rounds 0.005 to 0.01, and 0.004 to 0).
    expect(entries[1]).toMatchObject({ tool: 'web', cost_usd: 0.005, details: { query: 'haldir', nested: { a: 1 } } })
    expect((await api.call('GET', `/v1/sessions/${sessionId}`)).body).toMatchObject({ spent: 0 })
  })

  it('refuses in upstream words: missing fields, a cost that is not a non-negative number; an invalid session is 401', async () => {
    const cases: [unknown, string][] = [
      [{ action: 'x' }, 'session_id and action are required'],
      [{ session_id: sessionId }, 'session_id and action are required'],
      [{ session_id: sessionId, action: 'x', cost_usd: '2.5' }, 'cost_usd must be a number'],
      [{ session_id: sessionId, action: 'x', cost_usd: -1 }, 'cost_usd must be non-negative'],
      [{ session_id: sessionId, action: 'x', details: 'text' }, 'details must be a JSON object'],
    ]
    for (const [body, error] of cases) expect(await log(body), JSON.stringify(body)).toMatchObject({ status: 400, body: { error } })
    expect(await log({ session_id: 'ses_nope', action: 'x' })).toMatchObject({ status: 401, body: { error: 'Invalid or expired session' } })
    expect(await log({ session_id: sessionId, action: 'x', cost_usd: 0.0000001 })).toMatchObject({ status: 400, body: { code: 'invalid_request', field: 'cost_usd' } })
  })
})

describe('GET /v1/audit, /v1/audit/spend', () => {
  it('lists newest first with the filters session_id, agent_id, tool, flagged=true and limit', async () => {
    const other = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'other-agent', scopes: ['read'] } })).body as { session_id: string }).session_id
    for (let index = 0; index < 5; index++) await log({ session_id: other, action: `step-${index}`, tool: index % 2 ? 'odd' : 'even' })
    await api.call('POST', '/v1/payments/authorize', { body: { session_id: other, amount: 1 } }) // refused: no spend scope, flagged
    const byAgent = (await api.call('GET', '/v1/audit?agent_id=other-agent&limit=3')).body as { count: number; entries: Entry[] }
    expect(byAgent.count).toBe(3)
    expect(byAgent.entries.map((entry) => entry.action)).toEqual(['payment', 'step-4', 'step-3'])
    const timestamps = byAgent.entries.map((entry) => entry.timestamp)
    expect([...timestamps].sort((a, b) => b - a)).toEqual(timestamps)
    expect(((await api.call('GET', `/v1/audit?session_id=${other}&tool=odd`)).body as { entries: Entry[] }).entries.map((entry) => entry.action)).toEqual(['step-3', 'step-1'])
    const flagged = (await api.call('GET', `/v1/audit?session_id=${other}&flagged=true`)).body as { entries: Entry[] }
    expect(flagged.entries).toMatchObject([{ action: 'payment', flagged: true, flag_reason: expect.stringContaining("scope 'spend' not granted") }])
    expect(((await api.call('GET', `/v1/audit?session_id=${other}&flagged=yes`)).body as { count: number }).count).toBe(7)
    expect((await api.call('GET', '/v1/audit?limit=abc')).body).toMatchObject({ code: 'invalid_argument', error: 'limit must be an integer' })
    expect((await api.call('GET', '/v1/audit?session_id=ses_unknown')).body).toEqual({ count: 0, entries: [] })
    // The whole tenant: readers; an agent names its session.
    expect((await api.call('GET', '/v1/audit', { key: api.keys.auditor })).status).toBe(200)
    expect((await api.call('GET', '/v1/audit', { key: api.keys.agent })).body).toMatchObject({ code: 'forbidden' })
    expect((await api.call('GET', `/v1/audit?session_id=${other}`, { key: api.keys.agent })).status).toBe(200)
    expect((await api.call('GET', `/v1/audit?session_id=${other}`, { key: api.globex })).body).toEqual({ count: 0, entries: [] })
  })

  it('sums what actions cost, exactly, counting a paid action once (payments are the money side of the actions logged)', async () => {
    const spender = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'spender', scopes: ['read', 'spend:5'] } })).body as { session_id: string }).session_id
    for (const [tool, cost] of [['search', 0.1], ['search', 0.2], ['db', 0.05]] as const) {
      await api.call('POST', '/v1/payments/authorize', { body: { session_id: spender, amount: cost } })
      await log({ session_id: spender, action: 'execute', tool, cost_usd: cost })
    }
    const spend = await api.call('GET', `/v1/audit/spend?session_id=${spender}`)
    expect(spend).toMatchObject({ status: 200, body: { total_usd: 0.35, by_tool: { search: 0.3, db: 0.05 } } })
    expect(spend.body.action_count).toBe(7) // session.create, 3 payments, 3 actions
    expect((await api.call('GET', `/v1/sessions/${spender}`)).body).toMatchObject({ spent: 0.35 })
    expect((await api.call('GET', '/v1/audit/spend?agent_id=spender')).body).toMatchObject({ total_usd: 0.35 })
    expect((await api.call('GET', '/v1/audit/spend?session_id=ses_unknown')).body).toEqual({ total_usd: 0, action_count: 0, by_tool: {} })
  })
})

describe('GET /v1/audit/verify', () => {
  it('verifies the whole ledger (every leaf, chain and balance) and names an edited entry', async () => {
    const ok = await api.call('GET', '/v1/audit/verify')
    expect(ok).toMatchObject({ status: 200, body: { verified: true, message: 'Audit chain integrity verified', entries_checked: expect.any(Number) } })
    const empty = await api.call('GET', '/v1/audit/verify', { key: api.globex })
    expect(empty.body).toMatchObject({ verified: true, entries_checked: 0, message: 'Empty audit log' })
    const target = ((await api.call('POST', '/v1/sessions', { body: { agent_id: 'victim', scopes: ['read'] } })).body as { session_id: string }).session_id
    const written = await log({ session_id: target, action: 'pay', tool: 'bank', cost_usd: 1 })
    await api.call('GET', '/v1/audit/tree-head')
    await memoryAuditTamper(backend).edit(target, 2, { costUsd: 0.01 })
    const broken = await api.call('GET', '/v1/audit/verify')
    expect(broken).toMatchObject({ status: 200, body: { verified: false, tampered_entry: written.body.entry_id, error: expect.stringContaining('was altered') } })
    await memoryAuditTamper(backend).edit(target, 2, { costUsd: 1 })
    expect((await api.call('GET', '/v1/audit/verify')).body).toMatchObject({ verified: true })
  })
})

describe('GET /v1/audit/export and /v1/audit/export/manifest', () => {
  it('streams JSONL in upstream key order with the manifest last, CSV with its header; the manifest route agrees', async () => {
    const exported = await fetch(`${api.url}/v1/audit/export?session_id=${sessionId}`, { headers: { authorization: `Bearer ${api.keys.auditor}` } })
    expect(exported.status).toBe(200)
    expect(Object.fromEntries([...exported.headers].filter(([name]) => name.startsWith('x-haldir') || name === 'content-type' || name === 'x-accel-buffering'))).toEqual({
      'content-type': 'application/x-ndjson; charset=utf-8',
      'x-accel-buffering': 'no',
      'x-haldir-export-manifest': 'embedded-final-line',
      'x-haldir-export-format-version': '1',
    })
    expect(exported.headers.get('content-disposition')).toMatch(/^attachment; filename="haldir-audit-acme-\d{8}T\d{6}Z\.jsonl"$/)
    const lines = (await exported.text()).trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    const manifest = lines.pop() as Record<string, unknown>
    expect(Object.keys(lines[0] as object)).toEqual(['entry_id', 'timestamp', 'tenant_id', 'session_id', 'agent_id', 'tool', 'action', 'cost_usd', 'flagged', 'flag_reason', 'details', 'prev_hash', 'entry_hash'])
    expect(lines.every((line) => line.session_id === sessionId && line.tenant_id === 'acme')).toBe(true)
    expect(manifest).toEqual({
      type: 'manifest',
      format_version: 1,
      tenant_id: 'acme',
      generated_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      filters: { session_id: sessionId },
      count: lines.length,
      first_timestamp: lines[0]?.timestamp,
      last_timestamp: lines.at(-1)?.timestamp,
      last_chain_hash: lines.at(-1)?.entry_hash,
      sha256: expect.stringMatching(hex(64)),
    })
    const { createHash } = await import('node:crypto')
    expect(manifest.sha256).toBe(createHash('sha256').update(lines.map((line) => `${line.entry_id}\n`).join('')).digest('hex'))
    const separate = await api.call('GET', `/v1/audit/export/manifest?session_id=${sessionId}`)
    expect(separate.body).toMatchObject({ count: manifest.count, sha256: manifest.sha256, last_chain_hash: manifest.last_chain_hash })

    const csv = await api.call('GET', `/v1/audit/export?session_id=${sessionId}&format=csv&tool=web`)
    expect(csv.headers.get('x-haldir-export-manifest')).toBe('out-of-band')
    const rows = (csv.body as unknown as string).trim().split('\n')
    expect(rows[0]).toBe('entry_id,timestamp,timestamp_iso,tenant_id,session_id,agent_id,tool,action,cost_usd,flagged,flag_reason,details_json,prev_hash,entry_hash')
    expect(rows[1]).toMatch(new RegExp(`^aud_[^,]+,\\d+\\.\\d{6},\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\+00:00,acme,${sessionId},auditor-agent,web,search,0\\.005,false,,"\\{""query"":""haldir"",""nested"":\\{""a"":1\\}\\}",`))
  })

  it('filters by time (Unix seconds or ISO 8601) and flag, and refuses a bad format or an unreadable time', async () => {
    const now = Date.now() / 1000
    const future = await api.call('GET', `/v1/audit/export/manifest?since=${Math.ceil(now + 60)}`)
    expect(future.body).toMatchObject({ count: 0, first_timestamp: null, last_timestamp: null, last_chain_hash: '', filters: { since: Math.ceil(now + 60) } })
    const iso = await api.call('GET', `/v1/audit/export/manifest?until=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&flagged=true`)
    expect((iso.body as { count: number }).count).toBeGreaterThan(0)
    expect((iso.body as { filters: object }).filters).toMatchObject({ flagged_only: true })
    expect(await api.call('GET', '/v1/audit/export?format=xml')).toMatchObject({ status: 400, body: { error: "format must be 'csv' or 'jsonl'", code: 'invalid_format', got: 'xml', request_id: expect.any(String) } })
    expect(await api.call('GET', '/v1/audit/export?since=yesterday')).toMatchObject({ status: 400, body: { code: 'invalid_argument' } })
    expect((await api.call('GET', '/v1/audit/export', { key: api.keys.agent })).status).toBe(403)
  })
})
