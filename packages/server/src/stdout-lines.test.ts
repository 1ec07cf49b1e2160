import { apiKeyStore, createApiKey } from './api-keys.ts'
import { createHaldirServer } from './create-haldir-server.ts'
import { memoryBackend } from '@haldir/core'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { stdoutLines } from './stdout-lines.ts'

describe('stdoutLines: the request log on standard output', () => {
  afterEach(() => vi.restoreAllMocks())

  it('writes the lines of one turn of the event loop in one write, in order, and nothing is left behind', async () => {
    const writes: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true))
    const lines = stdoutLines()
    lines.write('one')
    lines.write('two')
    expect(writes).toEqual([])
    await new Promise((resolve) => setImmediate(resolve))
    lines.write('three')
    lines.flush()
    expect(writes).toEqual(['one\ntwo\n', 'three\n'])
    await new Promise((resolve) => setImmediate(resolve))
    expect(writes).toHaveLength(2)
  })

  it("carries a server's request lines (requestLog: true), one JSON line per request", async () => {
    const writes: string[] = []
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => (writes.push(String(chunk)), true))
    const key = createApiKey()
    const app = createHaldirServer({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'acme', role: 'agent', key }]), requestLog: true })
    const headers = { authorization: `Bearer ${key}` }
    await Promise.all([app.request('/native/v1/sessions/missing', { headers }), app.request('/native/v1/sessions/other', { headers })])
    stdoutLines().flush()
    const logged = writes.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as { status: number; tenant: string })
    expect(logged.map((line) => [line.status, line.tenant])).toEqual([
      [404, 'acme'],
      [404, 'acme'],
    ])
  })
})
