// The seed's CrewAI recipe, in TypeScript with plain fetch, against `haldir serve` speaking
// upstream Haldir's API: the same code that runs against upstream, one base URL changed.
import { memoryBackend } from '@haldir/core'
import { apiKeyStore, createApiKey, serveHaldir } from '@haldir/server'
import { runCrewRecipe } from './crew-recipe.ts'

const apiKey = createApiKey()
const server = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'crew', role: 'admin', key: apiKey }]), port: 0, publishTreeHeadsEveryMs: false })
const result = await runCrewRecipe(server.url, apiKey)
for (const [role, outputs] of Object.entries(result.outputs)) console.log(`${role}: ${outputs.join(' · ')}`)
console.log(`\nCrew spend: $${result.crewTotalUsd.toFixed(2)} (${Object.entries(result.spend).map(([role, spend]) => `${role} $${spend.totalUsd}`).join(', ')})\n`)
for (const line of result.report) console.log(line)
console.log(`\nVault: analyst read db_password (${result.vault.analyst.length} characters); researcher ${result.vault.researcher}`)
console.log(`After revocation: ${result.afterRevoke}`)
console.log(`Audit verified: ${result.verified}`)
await server.close()
