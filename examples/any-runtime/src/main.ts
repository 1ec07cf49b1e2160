// The governed call of governed-call.ts on this Node, against a Haldir server started here and
// in memory. The same code runs unchanged on other runtimes (a server URL and an agent key):
//   bun src/cli.ts URL KEY
//   deno run --allow-net --allow-read --allow-sys=hostname src/cli.ts URL KEY
//   Vercel Edge: src/edge.ts is the function; Cloudflare Workers: src/worker.ts is the Worker.
// src/runtime-matrix.test.ts runs all five against `haldir serve`.
import { memoryBackend } from '@haldir/core'
import { apiKeyStore, createApiKey, serveHaldir } from '@haldir/server'
import { runEverywhere } from './run-everywhere.ts'

const apiKey = createApiKey()
const server = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'demo', role: 'agent', key: apiKey }]), port: 0 })
try {
  const report = await runEverywhere({ url: server.url, apiKey })
  for (const [where, run] of [['haldir server', report.http], ['memory', report.memory]] as const) {
    console.log(`${where}: tools ${JSON.stringify(run.toolResults)}, ${run.blocked} blocked, spent $${run.spentUsd} ${JSON.stringify(run.byTool)}, audit ${run.auditVerified ? 'verified' : 'BROKEN'} (${run.auditEntries} entries)`)
  }
  console.log(`vault: read in scope ${report.vault.secretRead}, refused out of scope ${report.vault.secretRefused}; tree head of ${report.vault.treeSize} entries verified ${report.vault.treeHeadVerified}`)
} finally {
  await server.close()
}
