// The same agent on the memory backend and on a Haldir server: one line differs.
import { createHaldir, httpBackend, memoryBackend } from '@haldir/core'
import { apiKeyStore, createApiKey, serveHaldir } from '@haldir/server'
import { researchAgent } from './research-agent.ts'

// A Haldir server on loopback (in production: `haldir serve` on its own host).
const apiKey = createApiKey()
const server = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'demo', role: 'agent', key: apiKey }]), port: 0 })

console.log('— memory backend —')
const embedded = createHaldir()
for (const line of await researchAgent(embedded)) console.log(line)

console.log(`\n— HTTP backend (${server.url}) —`)
const remote = createHaldir({ backend: httpBackend({ url: server.url, apiKey }) }) // ← the one line
for (const line of await researchAgent(remote)) console.log(line)

await server.close()
