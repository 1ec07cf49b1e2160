// One run on this runtime: the governed call through a Haldir server (httpBackend, the server's
// URL and key as arguments) and in memory, then the memory backend's vault and ledger. Prints one
// JSON line. `node`, `bun` and `deno` run this file as it is.
import { createHaldir, httpBackend } from '@haldir/core'
import { governedCall } from './governed-call.ts'
import { vaultAndLedger } from './vault-and-ledger.ts'

export async function runEverywhere(server: { url: string; apiKey: string }) {
  const remote = createHaldir({ backend: httpBackend(server) })
  const local = createHaldir()
  return { http: await governedCall(remote), memory: await governedCall(local), vault: await vaultAndLedger(local) }
}
