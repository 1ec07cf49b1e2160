import { createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { apiKeyStore, createApiKey } from '../api-keys.ts'
import { cliOutcome } from '../cli.test-helper.ts'
import { type RunningHaldirServer, serveHaldir } from '../serve-haldir.ts'

const admin = createApiKey()
const auditor = createApiKey()
let running: RunningHaldirServer

beforeAll(async () => {
  running = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'admin', key: admin }, { tenant: 'acme', role: 'auditor', key: auditor }]), port: 0 })
})
afterAll(() => running.close())

describe('haldir holds', () => {
  it('lists the open holds, releases one as an operator (nothing charged, audited), and sweeps those whose lease ended', async () => {
    const haldir = createHaldir({ backend: httpBackend({ url: running.url, apiKey: admin }) })
    const session = await haldir.createSession({ agentId: 'stuck', scopes: ['llm'], spendLimit: 5 })
    const stuck = await haldir.reserve(session.id, 1.5, { tool: 'llm', scope: 'llm' })
    const leased = await haldir.reserve(session.id, 0.25, { tool: 'llm', scope: 'llm', holdTtl: 0.2 })
    const server = ['--url', running.url, '--key', admin]

    const listed = await cliOutcome(['holds', 'list', '--session', session.id, ...server])
    expect(listed.code).toBe(0)
    expect(listed.stdout).toMatch(new RegExp(`^${stuck.id} \\| ${session.id} \\| llm \\| \\$1\\.500000 \\| lease ends \\d{4}-\\d\\d-\\d\\dT`, 'm'))
    expect(listed.stdout).toContain(`${leased.id} | ${session.id} | llm | $0.250000`)
    expect(listed.stdout).toMatch(/2 open holds\n$/)
    // An auditor reads them too, as JSON.
    const json = await cliOutcome(['holds', 'list', '--json', '--url', running.url, '--key', auditor])
    expect(JSON.parse(json.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ id: stuck.id, amountUsd: 1.5 })]))

    // Releasing is an operator's act: the auditor is refused, the admin releases.
    const refused = await cliOutcome(['holds', 'release', stuck.id, '--url', running.url, '--key', auditor])
    expect(refused.code).toBe(1)
    expect(refused.output).toContain("An API key with role 'auditor' may not releaseHold")
    const released = await cliOutcome(['holds', 'release', stuck.id, '--reason', 'client crashed', ...server])
    expect(released).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^released ${stuck.id} \\(session ${session.id}\\); audit entry aud_`)) })
    expect((await haldir.getSpend(session.id)).reservedUsd).toBe(0.25)
    const trail = await haldir.getAuditTrail({ sessionId: session.id })
    expect(trail.entries.at(-1)).toMatchObject({ action: 'hold.release', flagged: true, reason: 'client crashed', costUsd: 0 })

    // The short lease ends; the sweep releases it (once).
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await cliOutcome(['holds', 'sweep', ...server])).toMatchObject({ code: 0, stdout: 'released 1 expired hold\n' })
    expect(await cliOutcome(['holds', 'sweep', ...server])).toMatchObject({ code: 0, stdout: 'released 0 expired holds\n' })
    expect(await haldir.getSpend(session.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0 })
    expect(await cliOutcome(['holds', 'list', ...server])).toMatchObject({ code: 0, stdout: '0 open holds\n' })
  })

  it('refuses a release of an unknown hold and a list without a key, plainly', async () => {
    const unknown = await cliOutcome(['holds', 'release', 'hold_missing', '--url', running.url, '--key', admin])
    expect(unknown.code).toBe(1)
    expect(unknown.output).toMatch(/^haldir: .*hold_missing/m)
    const keyless = await cliOutcome(['holds', 'list', '--url', running.url], { HALDIR_API_KEY: '' })
    expect(keyless).toMatchObject({ code: 1, output: 'haldir: an API key is needed: --key or HALDIR_API_KEY\n' })
  })
})
