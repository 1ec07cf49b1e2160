import { createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { apiKeyStore, createApiKey, serveHaldir } from '@haldir/server'
import { expect, it } from 'vitest'
import { researchAgent } from './research-agent.ts'

it('behaves the same on the memory backend and through a Haldir server', async () => {
  const apiKey = createApiKey()
  const server = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 't', role: 'agent', key: apiKey }]), port: 0 })
  try {
    const embedded = await researchAgent(createHaldir())
    const remote = await researchAgent(createHaldir({ backend: httpBackend({ url: server.url, apiKey }) }))
    // A refusal's text splits the committed money into spent and reserved as it stood: settles
    // land after the caller has its result, so that split depends on timing; the total does not.
    expect(remote.map(committed)).toEqual(embedded.map(committed))
    expect(embedded.filter((line) => line.startsWith('BLOCKED'))).toHaveLength(2)
    // session.create, 3 searches (each a reservation and its settle), 1 refusal, 1 blocked email.
    expect(embedded.at(-1)).toBe('spent $0.09 of $0.1; audit verified (9 entries)')
  } finally {
    await server.close()
  }
})

/** `$0.06 spent and $0.03 reserved` → `$0.09 committed`. */
function committed(line: string): string {
  return line.replace(/\$([\d.]+) spent(?: and \$([\d.]+) reserved)?/, (_, spent: string, reserved?: string) => `$${(Number(spent) * 1e6 + Number(reserved ?? 0) * 1e6) / 1e6} committed`)
}
