import type { AuditEntry, AuditEntryInput, AuditHead } from '../audit/audit-entry.ts'
import { sealAuditEntry } from '../audit/hash-audit-entry.ts'
import { verifyAuditChain } from '../audit/verify-audit-chain.ts'
import { BACKEND_CONTRACT_VERSION, type HaldirBackend } from '../backend/haldir-backend.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { newId } from '../internal/new-id.ts'
import type { ResolvedKeys } from '../internal/resolve-keys.ts'
import { createVaultCipher } from '../vault/vault-cipher.ts'
import { Draft, type Sealer } from './draft.ts'
import { planAppendAudit } from './plans/plan-append-audit.ts'
import { planAuthorize } from './plans/plan-authorize.ts'
import { planCreateSession } from './plans/plan-create-session.ts'
import { planRevoke } from './plans/plan-revoke.ts'
import { planSecretRead } from './plans/plan-secret-read.ts'
import { planSettle } from './plans/plan-settle.ts'
import type { LoadedState, LoadRequest, StateStore, StoredSecret } from './state-store.ts'

export interface StatefulBackendOptions {
  store: StateStore
  /** The vault and audit keys (`resolveKeys`). */
  keys: ResolvedKeys
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number
}

/**
 * Core's engine: the whole backend contract over a {@link StateStore}. Every operation is the
 * same three steps: the store loads and locks the state the operation needs, a pure plan decides
 * (liveness, scopes, budget, holds, idempotency, the audit entries), the store applies the plan's
 * changes atomically. Policy lives here and in the plans, once, for every store.
 *
 * @example
 * const backend = createStatefulBackend({ store: myStore(), keys: resolveKeys({ durable: true, backendName: 'mine' }) })
 */
export function createStatefulBackend(options: StatefulBackendOptions): HaldirBackend {
  const { store, keys } = options
  const now = options.now ?? Date.now
  const cipher = createVaultCipher({ masterKey: keys.masterKey, previousKeys: keys.previousKeys })
  const openSecret = (secret: StoredSecret) => cipher.open(secret.name, secret.sealed)
  const sealer: Sealer = { newId, seal: (head: AuditHead, input: AuditEntryInput & { id: string }): AuditEntry => sealAuditEntry(keys.auditKey, head, input) }

  /**
   * Load → plan → apply, for any plan: the store applies the draft and then resolves with the
   * plan's value, or rejects with the refusal the plan recorded.
   */
  function run<Request, R>(load: LoadRequest, plan: (state: LoadedState, request: Request, draft: Draft<R>) => R, request: Request): Promise<R> {
    return store.transact<R>(load, (state) => {
      const draft = new Draft<R>(load.tenant, now(), sealer)
      draft.value = plan(state, request, draft)
      return draft
    })
  }

  async function found<T>(value: T | null, sessionId: string): Promise<T> {
    if (value === null) throw new NotFoundError({ resource: 'session', id: sessionId })
    return value
  }

  return {
    contractVersion: BACKEND_CONTRACT_VERSION,
    name: store.name,

    createSession: (request) =>
      run(request.parentId === null ? { tenant: request.tenant } : { tenant: request.tenant, sessionId: request.parentId, sessions: 'chain' }, planCreateSession, request),

    getSession: async (request) => found(await store.readSession(request.tenant, request.sessionId), request.sessionId),

    authorize: (request) =>
      run(
        request.idempotencyKey === null
          ? { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain' }
          : { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', idempotencyKey: request.idempotencyKey },
        planAuthorize,
        request,
      ),

    settle: (request) => run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', holdId: request.holdId }, planSettle, request),

    appendAudit: (request) => run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'self' }, planAppendAudit, request),

    getSpend: async (request) => found(await store.readSpend(request.tenant, request.sessionId), request.sessionId),

    async queryAudit(request) {
      if (request.sessionId !== null) await found(await store.readSession(request.tenant, request.sessionId), request.sessionId)
      return store.queryAudit(request)
    },

    async verifyAudit(request) {
      const trail = await found(await store.readTrail(request.tenant, request.sessionId), request.sessionId)
      return verifyAuditChain({ auditKey: keys.auditKey, sessionId: request.sessionId, entries: trail.entries, head: trail.head })
    },

    revokeSession: (request) => run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'subtree' }, planRevoke, request),

    putSecret: (request) =>
      store.putSecret(request.tenant, { name: request.name, sealed: cipher.seal(request.name, request.value), scopeRequired: request.scopeRequired }, now()),

    readSecret: (request) =>
      run(
        { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', secretName: request.name },
        (state, secretRequest: typeof request, draft: Draft<string>) => planSecretRead(state, secretRequest, draft, openSecret),
        request,
      ),

    listSessions: (request) => store.listSessions(request.tenant, request.limit),

    close: () => store.close(),
  }
}
