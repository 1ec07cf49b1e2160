import { createRequire } from 'node:module'
import { createGovernor, createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

// A maintained parser of the Prometheus text format (prom2json's output shape), untyped.
interface MetricFamily {
  name: string
  type: string
  metrics: { value?: string; labels?: Record<string, string>; count?: string; sum?: string; buckets?: Record<string, string> }[]
}
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => MetricFamily[]

const SECRET = 'whsec-3kD9pQ7mZ2'
const keys = { admin: createApiKey(), agent: createApiKey(), auditor: createApiKey(), otherAuditor: createApiKey() }
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({
    backend: memoryBackend(),
    apiKeys: apiKeyStore([
      { tenant: 'acme', role: 'admin', key: keys.admin },
      { tenant: 'acme', role: 'agent', key: keys.agent },
      { tenant: 'acme', role: 'auditor', key: keys.auditor },
      { tenant: 'other', role: 'auditor', key: keys.otherAuditor },
    ]),
    port: 0,
    publishTreeHeadsEveryMs: false,
  })
})
afterAll(() => running.close())

const scrape = (key?: string) => fetch(`${running.url}/metrics`, key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } })

async function families(key: string): Promise<Map<string, MetricFamily>> {
  const response = await scrape(key)
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toMatch(/^text\/plain/)
  const text = await response.text()
  expect(text).not.toContain(SECRET)
  return new Map(parsePrometheus(text).map((family) => [family.name, family]))
}

const sample = (family: MetricFamily | undefined, labels: Record<string, string>) =>
  Number(family?.metrics.find((metric) => Object.entries(labels).every(([name, value]) => metric.labels?.[name] === value))?.value ?? 0)

describe('GET /metrics', () => {
  it('counts decisions by outcome and code, spend by tool, gate latency, open holds and pending approvals', async () => {
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keys.agent }) })
    const session = await haldir.createSession({ agentId: 'scraped', scopes: ['search'], spendLimit: 0.05 })
    const search = createGovernor({ haldir, sessionId: session.id, scope: 'search', auditName: 'search', cost: 0.01, onDenied: 'message' })
    const email = createGovernor({ haldir, sessionId: session.id, scope: 'email', auditName: 'send_email', onDenied: 'message' })
    for (const query of ['a', 'b', 'c']) await search({ query, token: SECRET }, () => 'ok')
    await email({}, () => 'never') // permission_denied
    await haldir.authorizePayment(session.id, 0.005, { tool: 'api_fee' })
    await haldir.reserve(session.id, 0.001, { tool: 'long_job' }) // stays open
    await haldir.gate({ sessionId: session.id, tool: 'wire', maxCostUsd: 0.001, requireApproval: 'a person looks first' }) // pending
    await search({ query: 'd' }, () => 'ok')
    await search({ query: 'e' }, () => 'never') // 0.04 + 0.005 + 0.001 + 0.001 + 0.01 > 0.05: budget_exceeded

    const metrics = await families(keys.auditor)
    const decisions = metrics.get('haldir_decisions_total')
    expect(decisions?.type).toBe('COUNTER')
    // Gates: 4 search + 1 reserve allowed, the payment allowed; 1 permission, 1 budget denied; 1 pending.
    expect(sample(decisions, { outcome: 'allowed', code: 'none' })).toBe(6)
    expect(sample(decisions, { outcome: 'denied', code: 'permission_denied' })).toBe(1)
    expect(sample(decisions, { outcome: 'denied', code: 'budget_exceeded' })).toBe(1)
    expect(sample(decisions, { outcome: 'pending', code: 'approval_pending' })).toBe(1)
    const spend = metrics.get('haldir_spend_microdollars_total')
    expect(sample(spend, { tool: 'search' })).toBe(40_000)
    expect(sample(spend, { tool: 'api_fee' })).toBe(5_000)
    const latency = metrics.get('haldir_gate_duration_seconds')
    expect(latency?.type).toBe('HISTOGRAM')
    // Every gate decision was timed (allowed, denied and pending alike).
    expect(Number(latency?.metrics[0]?.count)).toBe(9)
    expect(Number(latency?.metrics[0]?.buckets?.['+Inf'])).toBe(9)
    // The open reservation, and the pending approval's hold.
    expect(sample(metrics.get('haldir_open_holds'), {})).toBe(2)
    expect(sample(metrics.get('haldir_pending_approvals'), {})).toBe(1)
  })

  it('is for admin and auditor keys, each seeing its own tenant', async () => {
    expect((await scrape()).status).toBe(401)
    expect((await scrape(keys.agent)).status).toBe(403)
    expect((await scrape(keys.admin)).status).toBe(200)
    const other = await families(keys.otherAuditor)
    expect(other.get('haldir_decisions_total')?.metrics ?? []).toEqual([])
  })
})
