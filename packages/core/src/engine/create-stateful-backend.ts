import type { AuditEntry, AuditEntryInput, AuditHead } from '../audit/audit-entry.ts'
import { sealAuditEntry, type SealOutputs } from '../audit/hash-audit-entry.ts'
import { verifyAuditChain } from '../audit/verify-audit-chain.ts'
import { type AuditPage, BACKEND_CONTRACT_VERSION, type HaldirBackend, type HoldInfo } from '../backend/haldir-backend.ts'
import { BackendError } from '../errors/backend-error.ts'
import { HaldirError } from '../errors/haldir-error.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { newId } from '../internal/new-id.ts'
import type { ResolvedKeys } from '../internal/resolve-keys.ts'
import { createVaultCipher } from '../vault/vault-cipher.ts'
import { Draft, type Sealer } from './draft.ts'
import { createLedgerOperations, ledgerOff } from './ledger-operations.ts'
import { planAppendAudit } from './plans/plan-append-audit.ts'
import { planAuthorize } from './plans/plan-authorize.ts'
import { planCreateSession } from './plans/plan-create-session.ts'
import { planExpireHold, planReleaseHold } from './plans/plan-hold-release.ts'
import { planRevoke } from './plans/plan-revoke.ts'
import { planSecretRead, type VaultAccess } from './plans/plan-secret-read.ts'
import { planSettle } from './plans/plan-settle.ts'
import { createVaultMasks } from './vault-masks.ts'
import type { HoldRecord, LoadedState, LoadRequest, StateStore } from './state-store.ts'

export interface StatefulBackendOptions {
  store: StateStore
  /** The vault and audit keys (`resolveKeys`). */
  keys: ResolvedKeys
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number
  /** Keep the tenant ledger (leaf hashes at seal time, tree heads, proofs). @default true */
  ledger?: boolean
}

// Thrown inside `decide` when a secret changed since the engine last read the vault: the store
// applies nothing, the engine rereads the vault and decides again. A typed error, so every store
// passes it through as it is (the engine recognises this very instance).
const VAULT_CHANGED = new BackendError({ message: 'the vault changed while deciding; decide again' })
const MAX_VAULT_RETRIES = 3
/** A page of the trail is cut here, whatever its `limit`: its entries up to this size, the rest on the next page. */
export const MAX_PAGE_BYTES = 4 * 1024 * 1024

function trimPage(page: AuditPage, offset: number): AuditPage {
  let bytes = 0
  for (let index = 0; index < page.entries.length; index++) {
    bytes += JSON.stringify(page.entries[index]).length
    // Always at least one entry, so paging moves forward.
    if (bytes > MAX_PAGE_BYTES && index > 0) return { count: page.count, entries: page.entries.slice(0, index), nextOffset: offset + index }
  }
  return page
}

/**
 * Core's engine: the whole backend contract over a {@link StateStore}. Every operation is the
 * same three steps: the store loads and locks the state the operation needs, a pure plan decides
 * (liveness, scopes, budget, holds and their leases, idempotency, the audit entries), the store
 * applies the plan's changes atomically. Policy lives here and in the plans, once, for every
 * store. Before an entry is sealed, every value in the tenant's vault is masked out of it.
 *
 * @example
 * const backend = createStatefulBackend({ store: myStore(), keys: resolveKeys({ durable: true, backendName: 'mine' }) })
 */
export function createStatefulBackend(options: StatefulBackendOptions): HaldirBackend {
  const { store, keys } = options
  const now = options.now ?? Date.now
  const cipher = createVaultCipher({ masterKey: keys.masterKey, previousKeys: keys.previousKeys })
  const vault: VaultAccess = { open: (binding, sealed) => cipher.open(binding, sealed), seal: (binding, value) => cipher.seal(binding, value) }
  const masks = createVaultMasks({ store, open: vault.open })
  const ledger = (options.ledger ?? true) ? createLedgerOperations({ store, keys, now }) : ledgerOff()
  const sealing = { id: keys.auditKeyId, key: keys.auditKey }
  const ledgerOn = options.ledger ?? true
  const sealer: Sealer = { newId, seal: (head: AuditHead, input: AuditEntryInput & { id: string }, outputs: SealOutputs): AuditEntry => sealAuditEntry(sealing, head, input, outputs) }

  /**
   * Load → plan → apply, for any plan: the store applies the draft and then resolves with the
   * plan's value, or rejects with the refusal the plan recorded. A plan's unexpected failure (a
   * bug, not a decision) is reported as a `BackendError`, with nothing applied.
   */
  // Every load asks for the vault version (in its literal, so each call site keeps one object shape).
  async function run<Request, R>(load: LoadRequest & { vaultVersion: true }, plan: (state: LoadedState, request: Request, draft: Draft<R>) => R, request: Request): Promise<R> {
    const { tenant } = load
    for (let attempt = 0; ; attempt++) {
      const mask = masks.current(tenant)
      try {
        return await store.transact<R>(load, (state) => {
          if (state.vaultVersion !== mask.version) throw VAULT_CHANGED
          const draft = new Draft<R>(tenant, now(), sealer, mask.mask, ledgerOn)
          try {
            draft.value = plan(state, request, draft)
          } catch (error) {
            if (HaldirError.isInstance(error)) throw error
            throw new BackendError({ message: `Haldir could not decide this request: ${error instanceof Error ? error.message : String(error)}`, cause: error })
          }
          return draft
        })
      } catch (error) {
        if (error !== VAULT_CHANGED) throw error
        if (attempt >= MAX_VAULT_RETRIES) throw new BackendError({ message: 'The vault kept changing while this request was decided; try again' })
        await masks.refresh(tenant)
      }
    }
  }

  async function found<T>(value: T | null, sessionId: string): Promise<T> {
    if (value === null) throw new NotFoundError({ resource: 'session', id: sessionId })
    return value
  }

  async function holdOf(tenant: string, holdId: string): Promise<HoldRecord> {
    const hold = await store.readHold(tenant, holdId)
    if (!hold) throw new NotFoundError({ resource: 'hold', id: holdId })
    return hold
  }

  return {
    contractVersion: BACKEND_CONTRACT_VERSION,
    name: store.name,

    createSession: (request) =>
      run(request.parentId === null ? { tenant: request.tenant, vaultVersion: true } : { tenant: request.tenant, sessionId: request.parentId, sessions: 'chain', vaultVersion: true }, planCreateSession, request),

    getSession: async (request) => found(await store.readSession(request.tenant, request.sessionId), request.sessionId),

    authorize: (request) => {
      const load: LoadRequest & { vaultVersion: true } =
        request.idempotencyKey === null
          ? { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', expiredHoldsAt: now(), vaultVersion: true }
          : { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', expiredHoldsAt: now(), vaultVersion: true, idempotencyKey: request.idempotencyKey }
      return run(load, planAuthorize, request)
    },

    settle: (request) => run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', holdId: request.holdId, expiredHoldsAt: now(), vaultVersion: true }, planSettle, request),

    appendAudit: (request) => run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'self', vaultVersion: true }, planAppendAudit, request),

    getSpend: async (request) => found(await store.readSpend(request.tenant, request.sessionId), request.sessionId),

    async queryAudit(request) {
      if (request.sessionId !== null) await found(await store.readSession(request.tenant, request.sessionId), request.sessionId)
      return trimPage(await store.queryAudit(request), request.offset)
    },

    async verifyAudit(request) {
      const trail = await found(await store.readTrail(request.tenant, request.sessionId), request.sessionId)
      const chain = verifyAuditChain({ auditKeys: keys.auditKeys, sessionId: request.sessionId, entries: trail.entries, head: trail.head })
      if (!chain.ok) return chain
      // The chain is intact; the money it records must be what the counters hold.
      const balance = await ledger.balanceProblem(request.tenant, request.sessionId)
      return balance === null ? chain : { ok: false, count: chain.count, brokenAt: chain.count, reason: 'balance_mismatch', message: balance }
    },

    revokeSession: (request) => run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'subtree', vaultVersion: true }, planRevoke, request),

    putSecret: (request) =>
      store.putSecret(
        request.tenant,
        { name: request.name, sealed: cipher.seal({ tenant: request.tenant, name: request.name, scopeRequired: request.scopeRequired }, request.value), scopeRequired: request.scopeRequired },
        now(),
      ),

    readSecret: (request) =>
      run(
        { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', secretName: request.name, vaultVersion: true },
        (state, secretRequest: typeof request, draft: Draft<string>) => planSecretRead(state, secretRequest, draft, vault),
        request,
      ),

    async listSecrets(request) {
      const { secrets } = await store.listSecrets(request.tenant)
      return secrets.map((secret) => ({ name: secret.name, scopeRequired: secret.scopeRequired })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    },

    // The vault version moves with the removal, so the masks drop the value at the next decision.
    ...(store.deleteSecret
      ? {
          deleteSecret: async (request: { tenant: string; name: string }) => {
            if (!(await store.deleteSecret?.(request.tenant, request.name, now()))) throw new NotFoundError({ resource: 'secret', id: request.name })
          },
        }
      : {}),

    async listHolds(request): Promise<HoldInfo[]> {
      if (request.sessionId !== null) await found(await store.readSession(request.tenant, request.sessionId), request.sessionId)
      const holds = await store.listHolds(request.tenant, request.sessionId, request.limit)
      return holds.map((hold) => ({ id: hold.id, sessionId: hold.sessionId, amountMicros: hold.amountMicros, tool: hold.tool, scope: hold.scope, createdAt: hold.createdAt, expiresAt: hold.expiresAt }))
    },

    async releaseHold(request) {
      const hold = await holdOf(request.tenant, request.holdId)
      return run({ tenant: request.tenant, sessionId: hold.sessionId, sessions: 'chain', holdId: hold.id, vaultVersion: true }, planReleaseHold, request)
    },

    async sweepHolds(request) {
      const expired = await store.findExpiredHolds(request.tenant, now(), request.limit)
      let released = 0
      for (const hold of expired) {
        if (await run({ tenant: request.tenant, sessionId: hold.sessionId, sessions: 'chain', holdId: hold.id, vaultVersion: true }, planExpireHold, { holdId: hold.id })) released++
      }
      return { released }
    },

    treeHead: ledger.treeHead,
    inclusionProof: ledger.inclusionProof,
    consistencyProof: ledger.consistencyProof,
    treeHeads: ledger.treeHeads,
    ledgerKeys: ledger.ledgerKeys,
    ledgerPage: ledger.ledgerPage,
    verifyLedger: ledger.verifyLedger,
    publishTreeHeads: ledger.publishTreeHeads,

    listSessions: (request) => store.listSessions(request.tenant, request.limit),

    close: () => store.close(),
  }
}
