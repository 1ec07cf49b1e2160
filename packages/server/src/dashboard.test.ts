import { runInNewContext } from 'node:vm'
import { createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from './api-keys.ts'
import { type RunningHaldirServer, serveHaldir } from './serve-haldir.ts'

const keys = { admin: createApiKey(), auditor: createApiKey(), agent: createApiKey(), approver: createApiKey() }
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({
    backend: memoryBackend(),
    apiKeys: apiKeyStore((['admin', 'auditor', 'agent', 'approver'] as const).map((role) => ({ tenant: 'acme', role, key: keys[role] }))),
    port: 0,
  })
  const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keys.admin }) })
  const session = await haldir.createSession({ agentId: 'researcher', scopes: ['browse'], spendLimit: 1 })
  await haldir.authorizePayment(session.id, 0.9, { tool: 'search' })
  await haldir.checkPermission(session.id, 'send_email')
})
afterAll(() => running.close())

/** An element of the stand-in DOM below. */
interface FakeElement {
  className: string
  textContent: string
  value: string
  style: Record<string, string>
  children: (FakeElement | string)[]
  listeners: Record<string, () => void>
  classList: { add(name: string): void; remove(name: string): void }
  append(...nodes: (FakeElement | string)[]): void
  replaceChildren(...nodes: (FakeElement | string)[]): void
  addEventListener(type: string, listener: () => void): void
}

/**
 * Just enough of a DOM for the dashboard's script (elements with text, children, classes, style
 * and click listeners; no HTML parser, which the script must not need), run with the real
 * `fetch` against the real server.
 */
function page(apiKey: string) {
  const element = (): FakeElement => {
    const node: FakeElement = {
      className: '',
      textContent: '',
      value: '',
      style: {},
      children: [],
      listeners: {},
      classList: { add: (name) => (node.className = `${node.className} ${name}`.trim()), remove: (name) => (node.className = node.className.replace(name, '').trim()) },
      append: (...nodes) => node.children.push(...nodes),
      replaceChildren: (...nodes) => (node.children = nodes),
      addEventListener: (type, listener) => (node.listeners[type] = listener),
    }
    return node
  }
  const byId = new Map<string, FakeElement>()
  const document = {
    getElementById: (id: string): FakeElement => byId.get(id) ?? (byId.set(id, element()).get(id) as FakeElement),
    createElement: element,
    querySelectorAll: () => [],
  }
  const globals = { document, sessionStorage: { getItem: () => apiKey, setItem: () => {} }, fetch: (path: string, init: RequestInit) => fetch(running.url + path, init) }
  return { globals, get: document.getElementById }
}

/** Everything an element shows, its children's text included. */
const text = (node: FakeElement | string | undefined): string => (node === undefined ? '' : typeof node === 'string' ? node : node.textContent + node.children.map(text).join(''))
const child = (node: FakeElement | string | undefined, index: number): FakeElement | undefined => (typeof node === 'object' ? (node.children[index] as FakeElement | undefined) : undefined)

async function until(condition: () => boolean) {
  for (let waited = 0; waited < 5_000 && !condition(); waited += 10) await new Promise((resolve) => setTimeout(resolve, 10))
  expect(condition()).toBe(true)
}

describe('the dashboard', () => {
  const open = async (apiKey: string) => {
    const script = await (await fetch(`${running.url}/dashboard.js`)).text()
    const dom = page(apiKey)
    runInNewContext(script, { ...dom.globals, encodeURIComponent, Promise, Date, Math, String, Error })
    return dom
  }

  it('shows sessions, spend and a verified trail with blocked calls marked, to an auditor key', async () => {
    const dom = await open(keys.auditor)
    await until(() => dom.get('status').textContent === '1 sessions')
    const row = child(dom.get('sessions'), 0)
    expect(text(row)).toMatch(/^researcher.*ses_.*\$0\.9000 \/ \$1\.00live$/)
    // The spend bar: width through the CSSOM, red from 80 %.
    expect(child(child(child(row, 1), 0), 0)).toMatchObject({ style: { width: '90%' }, className: 'hot' })

    row?.listeners.click?.()
    await until(() => dom.get('verify').textContent !== '')
    expect(dom.get('verify').textContent).toBe('chain verified (3 entries)')
    expect(dom.get('trail-title').textContent).toBe('Audit trail — 3 entries')
    const trail = dom.get('trail').children as FakeElement[]
    expect(trail.map((entry) => entry.className)).toEqual(['', '', 'blocked'])
    expect(text(trail[2])).toContain("BLOCKED$0.0000scope 'send_email' not granted")
  })

  it('shows the calls waiting for a person, and an approver key decides them from the page', async () => {
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: keys.admin }) })
    const session = await haldir.createSession({ agentId: 'buyer', scopes: ['*'], spendLimit: 50, approvalRules: [{ kind: 'spend_over', thresholdUsd: 10 }] })
    const decision = await haldir.gate({ sessionId: session.id, tool: 'purchase', maxCostUsd: 20 })
    if (decision.allowed || decision.pending !== true) throw new Error('expected pending')
    const dom = await open(keys.approver)
    await until(() => dom.get('approvals-status').textContent === '1 waiting')
    const row = child(dom.get('approvals'), 0)
    expect(text(row)).toMatch(/^buyer — purchaseSpend \$20\.00 exceeds \$10\.00 threshold\$20\.00 helduntil \d{4}-.*ApproveDeny$/)
    const approve = child(child(row, 3), 0)
    approve?.listeners.click?.()
    await until(() => dom.get('approvals-status').textContent.startsWith('say who'))
    dom.get('approver').value = 'dana@acme.example'
    approve?.listeners.click?.()
    await until(() => dom.get('approvals-status').textContent === '0 waiting')
    expect(await haldir.getApproval(decision.approval.id)).toMatchObject({ status: 'approved', decidedBy: 'dana@acme.example' })
    // An auditor sees the queue, but its decision is refused by the server.
    await haldir.gate({ sessionId: session.id, tool: 'purchase', maxCostUsd: 20 })
    const auditor = await open(keys.auditor)
    await until(() => auditor.get('approvals-status').textContent === '1 waiting')
    auditor.get('approver').value = 'eve'
    child(child(child(auditor.get('approvals'), 0), 3), 1)?.listeners.click?.()
    await until(() => auditor.get('approvals-status').textContent.startsWith('error'))
    expect(auditor.get('approvals-status').textContent).toContain("role 'auditor' may not decideApproval")
  })

  it('says what an agent key may not do instead of showing the tenant', async () => {
    const dom = await open(keys.agent)
    await until(() => dom.get('status').textContent.startsWith('error'))
    expect(dom.get('status').textContent).toBe("error: An API key with role 'agent' may not listSessions (allowed: admin, auditor, approver)")
  })
})
