import { createHaldir, type HaldirBackend, memoryBackend, verifyBundle } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { ledgerExportPath } from './ledger-export-route.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const admin = createApiKey()
const agent = createApiKey()
const otherTenant = createApiKey()
let running: RunningHaldirServer
let pagesRead = 0
let sessionId: string
const ENTRIES = 4000

beforeAll(async () => {
  const backend = memoryBackend()
  // Counts the pages the export reads, to see it read them as the client takes them.
  const counted: HaldirBackend = Object.assign(Object.create(backend) as HaldirBackend, {
    ledgerPage: (request: Parameters<HaldirBackend['ledgerPage']>[0]) => {
      pagesRead++
      return backend.ledgerPage(request)
    },
  })
  running = await serveHaldir({
    backend: counted,
    apiKeys: apiKeyStore([
      { tenant: 'acme', role: 'admin', key: admin },
      { tenant: 'acme', role: 'agent', key: agent },
      { tenant: 'globex', role: 'admin', key: otherTenant },
    ]),
    port: 0,
    publishTreeHeadsEveryMs: false,
  })
  const haldir = createHaldir({ backend, tenant: 'acme' })
  const session = await haldir.createSession({ agentId: 'bulk', scopes: ['x'] })
  sessionId = session.id
  const padding = 'p'.repeat(4000)
  for (let index = 1; index < ENTRIES; index++) await haldir.logAction(session.id, { tool: 'x', details: { index, padding } })
})
afterAll(() => running.close())

const get = (query: string, key = admin) => fetch(`${running.url}${ledgerExportPath}${query}`, { headers: { authorization: `Bearer ${key}` } })

describe(`GET ${ledgerExportPath}`, () => {
  it('streams the bundle, reading the log page by page as the client reads, and the whole of it verifies offline', async () => {
    pagesRead = 0
    const response = await get('')
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8')
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="haldir-ledger-acme-\d{8}T\d{6}Z\.jsonl"$/)
    const reader = (response.body as ReadableStream<Uint8Array>).getReader()
    const chunks: Uint8Array[] = [(await reader.read()).value as Uint8Array]
    // The answer started with the first page read: 4 pages of ~4 MB each are not read ahead of the client.
    await new Promise((resolve) => setTimeout(resolve, 200))
    expect(pagesRead).toBeLessThan(3)
    for (;;) {
      const next = await reader.read()
      if (next.done) break
      chunks.push(next.value)
    }
    expect(pagesRead).toBe(4)
    const text = Buffer.concat(chunks).toString('utf8')
    const keys = (await (await fetch(`${running.url}/.well-known/jwks.json`)).json()) as { keys: { x: string }[] }
    const publicKey = Buffer.from(keys.keys[0]?.x as string, 'base64url').toString('hex')
    expect(verifyBundle(text, { publicKeys: [publicKey] })).toEqual({ ok: true, count: ENTRIES, treeSize: ENTRIES, problems: [] })
  })

  it('gives an agent the bundle of a session it names, never the whole tenant; another tenant finds no such session', async () => {
    const whole = await get('', agent)
    expect(whole.status).toBe(403)
    expect(((await whole.json()) as { error: { code: string } }).error.code).toBe('forbidden')
    const named = await get(`?sessionId=${sessionId}&format=csv`, agent)
    expect(named.status).toBe(200)
    expect(named.headers.get('content-type')).toBe('text/csv; charset=utf-8')
    const rows = (await named.text()).trim().split('\n')
    expect(rows).toHaveLength(ENTRIES + 1)
    expect(rows[0]?.startsWith('leaf_index,id,session_id,')).toBe(true)
    const stranger = await get(`?sessionId=${sessionId}`, otherTenant)
    expect(stranger.status).toBe(404)
    expect(((await stranger.json()) as { error: { code: string } }).error.code).toBe('not_found')
  })

  it('refuses a bad format, an unknown parameter and a bad earlier size before streaming anything', async () => {
    for (const query of ['?format=xml', '?sessionld=x', '?earlierSize=-1', '?earlierSize=abc']) {
      const response = await get(query)
      expect(response.status, query).toBe(400)
      expect(((await response.json()) as { error: { code: string } }).error.code, query).toBe('validation_error')
    }
    expect((await fetch(`${running.url}${ledgerExportPath}`)).status).toBe(401)
  })
})
