// The memory backend's cryptography on this runtime: the vault's AES-256-GCM (a secret stored,
// read back by a session in scope, refused to one out of scope), and the ledger's Ed25519-signed
// tree head verified with the public key alone.
import { type Haldir, verifyTreeHead } from '@haldir/core'

export interface VaultAndLedgerReport {
  secretRead: boolean
  secretRefused: boolean
  treeSize: number
  treeHeadVerified: boolean
}

export async function vaultAndLedger(haldir: Haldir): Promise<VaultAndLedgerReport> {
  await haldir.storeSecret('db_password', 'pg_runtime_secret', { scopeRequired: 'db:read' })
  const reader = await haldir.createSession({ agentId: 'reader', scopes: ['db:read'], ttl: 300 })
  const outsider = await haldir.createSession({ agentId: 'outsider', scopes: ['search'], ttl: 300 })
  const value = await haldir.getSecret('db_password', { sessionId: reader.id })
  const refused = await haldir.getSecret('db_password', { sessionId: outsider.id }).then(
    () => false,
    (error: unknown) => (error as { code?: string }).code === 'permission_denied',
  )
  const head = await haldir.getTreeHead()
  return { secretRead: value === 'pg_runtime_secret', secretRefused: refused, treeSize: head.treeSize, treeHeadVerified: verifyTreeHead(head, head.publicKey) }
}
