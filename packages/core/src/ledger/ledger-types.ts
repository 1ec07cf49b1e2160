import type { AuditEntry } from '../audit/audit-entry.ts'
import type { TreeHead } from './tree-head.ts'

/** Proof that an entry is leaf `leafIndex` of the tenant's log of `treeSize` leaves (RFC 6962 PATH, bottom-up). */
export interface InclusionProof {
  entryId: string
  leafIndex: number
  leafHash: string
  treeSize: number
  rootHash: string
  auditPath: string[]
  /** A head of the same size, signed (not recorded in the tree-head log). */
  treeHead: TreeHead
}

/** Proof that the log of `first` leaves is a prefix of the log of `second` leaves (RFC 6962 PROOF). */
export interface ConsistencyProof {
  first: number
  second: number
  firstRoot: string
  secondRoot: string
  path: string[]
}

/** A key that signs (or signed) the tenant's tree heads. */
export interface LedgerKey {
  keyId: string
  /** Raw Ed25519 public key, 64 hex. */
  publicKey: string
  /** `true` for the key that signs new heads; old keys stay published so old heads verify. */
  active: boolean
}

/** The log from a leaf on, in order: what an export carries and an auditor recomputes. */
export interface LedgerPage {
  treeSize: number
  entries: { leafIndex: number; entry: AuditEntry }[]
}

/** What a full check of a tenant's ledger found. */
export type LedgerVerification =
  | { ok: true; treeSize: number; rootHash: string; sessions: number }
  | { ok: false; treeSize: number; problems: LedgerProblem[] }

export interface LedgerProblem {
  kind: 'missing_entry' | 'leaf_mismatch' | 'root_mismatch' | 'balance_mismatch' | 'inconsistent_with_earlier_head'
  message: string
  leafIndex?: number
  sessionId?: string
}
