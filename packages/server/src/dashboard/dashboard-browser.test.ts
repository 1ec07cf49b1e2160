import { createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { memoryAuditTamper } from '@haldir/core/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from '../api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from '../serve-haldir.ts'
import { browserAvailable, buildDashboardBundle, launchChromium, screenshot } from './browser.test-helper.ts'

const keys = { admin: createApiKey(), auditor: createApiKey(), approver: createApiKey(), agent: createApiKey() }
const XSS_AGENT = '<img src=x onerror="window.__xss=1">'
const XSS_ARGS = { query: '<script>window.__xss=2</script>', html: '<img src=x onerror=window.__xss=3>' }
const available = browserAvailable()

let running: RunningHaldirServer
let browser: Browser
const ids = { needle: '', crew: '', writer: '', tampered: '', xss: '', victim: '', purchaser: '' }

beforeAll(async () => {
  if (!available) return
  buildDashboardBundle()
  const backend = memoryBackend()
  running = await serveHaldir({
    backend,
    apiKeys: apiKeyStore((['admin', 'auditor', 'approver', 'agent'] as const).map((role) => ({ tenant: 'acme', role, key: keys[role] }))),
    port: 0,
    rateLimits: { perKey: false },
  })
  const haldir = createHaldir({ backend, tenant: 'acme' })
  // A thousand sessions, one of which the test looks for.
  for (let index = 0; index < 1000; index++) {
    const session = await haldir.createSession({ agentId: `worker-${String(index).padStart(4, '0')}`, scopes: ['browse'], spendLimit: 1 })
    if (index === 777) ids.needle = session.id
  }
  const tampered = await haldir.createSession({ agentId: 'ledger-keeper', scopes: ['*'], spendLimit: 10 })
  for (const amount of [0.1, 0.2, 0.3]) await haldir.authorizePayment(tampered.id, amount, { tool: 'invoice' })
  await memoryAuditTamper(backend).edit(tampered.id, 2, { costUsd: 0.01 })
  ids.tampered = tampered.id
  const xss = await haldir.createSession({ agentId: XSS_AGENT, scopes: ['*'], spendLimit: 1 })
  await haldir.logAction(xss.id, { tool: 'search', action: 'execute', costUsd: 0, details: XSS_ARGS })
  ids.xss = xss.id
  ids.victim = (await haldir.createSession({ agentId: 'runaway-agent', scopes: ['*'], spendLimit: 1 })).id
  const crew = await haldir.createSession({ agentId: 'research-crew', scopes: ['browse', 'write'], spendLimit: 5 })
  const researcher = await haldir.createSession({ agentId: 'researcher', scopes: ['browse'], spendLimit: 2, parentId: crew.id })
  const writer = await haldir.createSession({ agentId: 'writer', scopes: ['write'], spendLimit: 2, parentId: crew.id })
  await haldir.authorizePayment(researcher.id, 0.5, { tool: 'search' })
  await haldir.checkPermission(writer.id, 'send_email', { tool: 'send_email' })
  ids.crew = crew.id
  ids.writer = writer.id
  browser = await launchChromium()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  await running?.close()
})

const pageErrors: string[] = []
afterEach(() => {
  expect(pageErrors.splice(0)).toEqual([])
})

/** A fresh browser context (its own cookie jar) signed in with `apiKey`. */
async function signedIn(apiKey: string): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } })
  // Fail at the step that did not happen, well before the test's own timeout.
  context.setDefaultTimeout(10_000)
  const page = await context.newPage()
  page.on('pageerror', (error) => pageErrors.push(error.message))
  // A CSP or Trusted Types refusal means some part of the page silently did not work.
  page.on('console', (message) => {
    if (message.type() === 'error' && /Content Security Policy|TrustedHTML|Trusted Type/i.test(message.text())) pageErrors.push(message.text())
  })
  page.on('dialog', (dialog) => {
    throw new Error(`unexpected dialog: ${dialog.message()}`)
  })
  await page.goto(running.url)
  await page.getByLabel('API key').fill(apiKey)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.getByRole('heading', { name: 'Sessions' }).waitFor()
  return page
}

describe.skipIf(!available)('the dashboard in a browser', () => {
  it('signs in into an HTTP-only cookie and finds one session among a thousand', async () => {
    const page = await signedIn(keys.admin)
    const cookies = await page.context().cookies()
    expect(cookies).toEqual([expect.objectContaining({ name: 'haldir_dashboard', httpOnly: true, sameSite: 'Strict' })])
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toBe('')
    expect(await page.evaluate(() => JSON.stringify({ ...(globalThis as unknown as { localStorage: object }).localStorage }) + JSON.stringify({ ...(globalThis as unknown as { sessionStorage: object }).sessionStorage }))).not.toContain(keys.admin)
    await page.getByText(/^100\d crews and sessions$/).waitFor()
    await screenshot(page, 'dashboard-sessions')
    await page.getByLabel('Search agent or id').fill('worker-0777')
    await page.getByText('1 matching session', { exact: true }).waitFor()
    await page.getByRole('link', { name: 'worker-0777' }).click()
    await page.getByRole('heading', { name: /worker-0777/ }).waitFor()
    expect(page.url()).toContain(`#/sessions/${ids.needle}`)
    // Responsive: on a phone the page does not scroll sideways (wide tables scroll in their own box).
    await page.setViewportSize({ width: 390, height: 844 })
    await page.goto(`${running.url}/#/`)
    await page.getByText(/^100\d crews and sessions$/).waitFor()
    expect(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } }; innerWidth: number }).document.documentElement.scrollWidth <= (globalThis as unknown as { innerWidth: number }).innerWidth)).toBe(true)
    await page.context().close()
  })

  it('opens a crew tree and shows the blocked call of an agent', async () => {
    const page = await signedIn(keys.auditor)
    await page.getByLabel('Search agent or id').fill('research-crew')
    await page.getByRole('button', { name: 'Open research-crew (2 agents)' }).click()
    await page.getByRole('link', { name: 'researcher' }).waitFor()
    await screenshot(page, 'dashboard-crew-tree')
    await page.getByRole('link', { name: 'writer' }).click()
    const blocked = page.locator('tr.blocked')
    await blocked.getByText('BLOCKED').waitFor()
    expect(await blocked.getByText('send_email').count()).toBeGreaterThan(0)
    // Entry 1 is the session's creation; the filter leaves the refusal alone.
    await page.getByText('2 entries', { exact: true }).waitFor()
    await page.getByLabel('Outcome').selectOption('denied')
    await page.getByText('1 entry', { exact: true }).waitFor()
    expect(await page.locator('table.trail tbody tr').count()).toBe(1)
    await page.context().close()
  })

  it('flags a tampered chain and highlights the altered row', async () => {
    const page = await signedIn(keys.auditor)
    await page.goto(`${running.url}/#/sessions/${ids.tampered}`)
    await page.getByRole('alert').getByText('Chain broken at entry 2').waitFor()
    const row = page.locator('tr[data-seq="2"]')
    expect(await row.getAttribute('class')).toContain('broken')
    await row.getByText('chain broken here').waitFor()
    expect(await page.locator('tr.broken').count()).toBe(1)
    await screenshot(page, 'dashboard-session-broken-chain')
    await page.context().close()
  })

  it('shows a new request live, approves it, and the waiting agent goes on', async () => {
    const page = await signedIn(keys.approver)
    await page.getByRole('link', { name: 'Approvals' }).click()
    await page.getByText('No request waits for a decision.').waitFor()
    await page.getByText('● live').waitFor()
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keys.agent }) })
    const session = await haldir.createSession({ agentId: 'purchaser', scopes: ['*'], spendLimit: 50, approvalRules: [{ kind: 'spend_over', thresholdUsd: 10 }] })
    const decision = await haldir.gate({ sessionId: session.id, tool: 'purchase', maxCostUsd: 20 })
    if (decision.allowed || decision.pending !== true) throw new Error('expected a pending purchase')
    // The agent waits, then runs its call with the approval and settles it.
    const continued = (async () => {
      const approval = await haldir.waitForApproval(decision.approval.id, { pollInterval: 0.05, timeout: 60 })
      if (approval.status !== 'approved') return approval.status
      const next = await haldir.gate({ sessionId: session.id, tool: 'purchase', maxCostUsd: 20, approvalId: approval.id })
      if (!next.allowed) return 'refused'
      await next.hold.settle(12)
      return 'ran'
    })()
    // No reload: the request arrives over the event stream.
    const approve = page.getByRole('button', { name: 'Approve purchase for purchaser' })
    await approve.waitFor()
    await page.getByLabel('Decide as').fill('alice@acme.example')
    await screenshot(page, 'dashboard-approvals')
    await approve.click()
    expect(await continued).toBe('ran')
    expect(await haldir.getApproval(decision.approval.id)).toMatchObject({ status: 'approved', decidedBy: expect.stringContaining('alice@acme.example') })
    await page.goto(`${running.url}/#/sessions/${session.id}`)
    await page.locator('tr', { hasText: '$12.00' }).first().waitFor()
    await page.context().close()
  })

  it('revokes a session as an admin', async () => {
    const page = await signedIn(keys.admin)
    await page.goto(`${running.url}/#/sessions/${ids.victim}`)
    await page.getByRole('button', { name: 'Revoke session' }).click()
    await page.getByRole('button', { name: 'Confirm revoke' }).click()
    await page.locator('#session-heading .state.revoked').waitFor()
    await page.getByRole('link', { name: 'Keys' }).click()
    await page.getByRole('heading', { name: 'API keys' }).waitFor()
    expect((await fetch(`${running.url}/native/v1/sessions/${ids.victim}`, { headers: { authorization: `Bearer ${keys.admin}` } }).then((response) => response.json())) as { revokedAt: number | null }).toMatchObject({ revokedAt: expect.any(Number) })
    await page.context().close()
  })

  it('an auditor sees no revoke button, and the API refuses its revoke', async () => {
    const page = await signedIn(keys.auditor)
    await page.goto(`${running.url}/#/sessions/${ids.needle}`)
    await page.getByRole('heading', { name: /worker-0777/ }).waitFor()
    expect(await page.getByRole('button', { name: 'Revoke session' }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Keys' }).count()).toBe(0)
    const status = await page.evaluate(async (sessionId) => {
      const me = (await (await fetch('/dashboard/api/me')).json()) as { csrfToken: string }
      const response = await fetch(`/dashboard/api/sessions/${sessionId}/revoke`, { method: 'POST', headers: { 'x-haldir-csrf': me.csrfToken, 'content-type': 'application/json' }, body: '{}' })
      return response.status
    }, ids.needle)
    expect(status).toBe(403)
    await page.context().close()
  })

  it('shows stored markup as text and never runs it', async () => {
    const page = await signedIn(keys.admin)
    await page.getByLabel('Search agent or id').fill('<img')
    await page.getByRole('link', { name: XSS_AGENT }).click()
    await page.getByRole('heading', { name: XSS_AGENT }).waitFor()
    await page.getByText('Entry 2', { exact: true }).click()
    await page.getByText(XSS_ARGS.query, { exact: false }).waitFor()
    expect(await page.evaluate(() => (globalThis as unknown as { __xss?: number }).__xss)).toBeUndefined()
    expect(await page.locator('main img').count()).toBe(0)
    expect(await page.locator('main script').count()).toBe(0)
    await page.context().close()
  })
})
