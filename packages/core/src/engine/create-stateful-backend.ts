import type { AuditEntry, AuditEntryInput, AuditHead } from '../audit/audit-entry.ts'
import { prepareAuditEntry, sealAuditEntry, type SealOutputs } from '../audit/hash-audit-entry.ts'
import { verifyAuditChain } from '../audit/verify-audit-chain.ts'
import { authorizeEach, eachOutcome } from '../backend/each-outcome.ts'
import { registerDecidesNow } from '../backend/decides-now.ts'
import { type ApprovalRecord, type AuditPage, type AuthorizeRequest, type AuthorizeResult, BACKEND_CONTRACT_VERSION, type HaldirBackend, type HoldInfo, type SettleManyRequest, type SettleOutcome, type SettleRequest, type SettleResult } from '../backend/haldir-backend.ts'
import { createEventBus, type EventBus } from '../events/event-bus.ts'
import { BackendError } from '../errors/backend-error.ts'
import { HaldirError } from '../errors/haldir-error.ts'
import { toErrorJson } from '../errors/to-error-json.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { newId } from '../internal/new-id.ts'
import type { ResolvedKeys } from '../internal/resolve-keys.ts'
import { createVaultCipher } from '../vault/vault-cipher.ts'
import { Draft, type Sealer } from './draft.ts'
import { createLedgerOperations, ledgerOff } from './ledger-operations.ts'
import { planAppendAudit } from './plans/plan-append-audit.ts'
import { planAuthorize, planAuthorizeInSlice, planAuthorizeRecalled } from './plans/plan-authorize.ts'
import { resolveSlices, SliceMiss, type SliceOptions, SliceRecall } from './slices.ts'
import { planCreateSession } from './plans/plan-create-session.ts'
import { planExpireHold, planReleaseHold } from './plans/plan-hold-release.ts'
import { planRevoke } from './plans/plan-revoke.ts'
import { planReturnSlice } from './plans/plan-return-slice.ts'
import { planSecretRead, type VaultAccess } from './plans/plan-secret-read.ts'
import { planSettle, planSettleInSlice } from './plans/plan-settle.ts'
import { createTenantConfigs } from './tenant-configs.ts'
import { spendReport } from '../controls/spend-report.ts'
import { toApprovalRecord } from './plans/approval-steps.ts'
import { planDecideApproval } from './plans/plan-decide-approval.ts'
import type { ApprovalState, HoldRecord, LoadedState, LoadRequest, StateStore } from './state-store.ts'
import { LRUCache } from 'lru-cache'

export interface StatefulBackendOptions {
  store: StateStore
  /** The vault and audit keys (`resolveKeys`). */
  keys: ResolvedKeys
  /** Clock in epoch milliseconds. @default Date.now */
  now?: () => number
  /** Keep the tenant ledger (leaf hashes at seal time, tree heads, proofs). @default true */
  ledger?: boolean
  /** Where events go once their changes are applied (`subscribe` listens to it). @default a bus of this backend's own */
  events?: EventBus
  /**
   * Escrowed slices of ancestors' budgets (`slices.ts`): a child session's calls draw on a slice
   * reserved on its ancestors, locking and writing only the child's row. `true` for the default
   * sizes. @default false
   */
  slices?: SliceOptions | boolean
}

/** What an operation's plan is: pure, over the loaded state, its changes in the draft. */
type Plan<Request, R> = (state: LoadedState, request: Request, draft: Draft<R>) => R
/** The draft a store applied last, for the events it publishes. */
interface Applied<R> {
  draft: Draft<R> | undefined
}
/** `runNow`'s answer when the operation must go the long way. */
const NOT_NOW = Symbol('not now')

// Thrown inside `decide` when a secret or an approval rule changed since the engine last read the
// tenant's config: the store applies nothing, the engine rereads it and decides again. A typed
// error, so every store passes it through as it is (the engine recognises this very instance).
const CONFIG_CHANGED = new BackendError({ message: 'the tenant config changed while deciding; decide again' })
const MAX_CONFIG_RETRIES = 3
/** How many approvals a revocation closes, and how many overdue ones a read times out, in one call. */
const APPROVAL_BATCH = 10_000
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

/** Details whose JSON length the caller counted, for the entry that records them (see `Draft.measured`). */
interface Measured {
  details: object
  jsonLength: number
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
  const slices = resolveSlices(options.slices, false)
  const cipher = createVaultCipher({ masterKey: keys.masterKey, previousKeys: keys.previousKeys })
  const vault: VaultAccess = { open: (binding, sealed) => cipher.open(binding, sealed), seal: (binding, value) => cipher.seal(binding, value) }
  const configs = createTenantConfigs({ store, open: vault.open })
  const events = options.events ?? createEventBus()
  const ledger = (options.ledger ?? true) ? createLedgerOperations({ store, keys, now }) : ledgerOff()
  const sealing = { id: keys.auditKeyId, key: keys.auditKey }
  const ledgerOn = options.ledger ?? true
  const seal = (head: AuditHead, input: AuditEntryInput & { id: string }, outputs: SealOutputs): AuditEntry => sealAuditEntry(sealing, head, input, outputs)
  // A store that seals later (memory) gets entries placed in their chains, and seals them itself
  // in order before anything reads them: the governed call does not wait for two hashes.
  const later = store.sealLater?.({ seal, ledger: ledgerOn }) === true
  const sealer: Sealer = later ? { newId, seal: (head, input, outputs) => prepareAuditEntry(sealing.id, head, input, outputs) } : { newId, seal }
  // Leaves come with the seal: a store that seals later computes them then.
  const draftLeaves = ledgerOn && !later

  /**
   * The decide step of every operation, for the store to call on the state it loaded: refuses a
   * stale tenant config, runs the plan on a fresh draft, and notes the draft in `applied` (the
   * one the store applied last, since a store may decide more than once when it retries). A
   * plan's unexpected failure (a bug, not a decision) is reported as a `BackendError`.
   */
  function decider<Request, R>(tenant: string, config: ReturnType<typeof configs.current>, plan: Plan<Request, R>, request: Request, applied: Applied<R>, at?: number, measured?: Measured) {
    return (state: LoadedState): Draft<R> => {
      if (state.configVersion !== config.version) throw CONFIG_CHANGED
      const draft = new Draft<R>(tenant, at ?? now(), sealer, config.mask, draftLeaves, config.approvalRules)
      if (measured !== undefined) draft.measured(measured.details, measured.jsonLength)
      try {
        draft.value = plan(state, request, draft)
      } catch (error) {
        if (HaldirError.isInstance(error)) throw error
        throw new BackendError({ message: `Haldir could not decide this request: ${error instanceof Error ? error.message : String(error)}`, cause: error })
      }
      applied.draft = draft
      return draft
    }
  }

  /**
   * Load → plan → apply, for any plan: the store applies the draft and then resolves with the
   * plan's value, or rejects with the refusal the plan recorded.
   */
  // Every load asks for the config version (in its literal, so each call site keeps one object shape).
  async function run<Request, R>(load: LoadRequest & { configVersion: true }, plan: Plan<Request, R>, request: Request): Promise<R> {
    const { tenant } = load
    for (let attempt = 0; ; attempt++) {
      const applied: Applied<R> = { draft: undefined }
      try {
        const value = await store.transact<R>(load, decider(tenant, configs.current(tenant), plan, request, applied))
        publish(applied.draft)
        return value
      } catch (error) {
        // A refusal the plan recorded was applied: its events happened.
        if (applied.draft?.error !== undefined && error === applied.draft.error) publish(applied.draft)
        if (error !== CONFIG_CHANGED) throw error
        if (attempt >= MAX_CONFIG_RETRIES) throw new BackendError({ message: 'The tenant config kept changing while this request was decided; try again' })
        await configs.refresh(tenant)
      }
    }
  }

  /**
   * `run` within this very call, for a store that decides synchronously (`transactNow`): the
   * value, a thrown refusal, or {@link NOT_NOW} when it must take `run`'s way (no such store, or
   * the tenant's config changed and must be read again; nothing was applied then).
   */
  const transactNow = store.transactNow?.bind(store)
  function runNow<Request, R>(load: LoadRequest & { configVersion: true }, plan: Plan<Request, R>, request: Request, measured?: Measured): R | typeof NOT_NOW {
    if (transactNow === undefined) return NOT_NOW
    const applied: Applied<R> = { draft: undefined }
    try {
      // Decided within this call: the time its load was asked at is the decision's (one clock read, not two).
      const value = transactNow<R>(load, decider(load.tenant, configs.current(load.tenant), plan, request, applied, load.expiredHoldsAt, measured))
      publish(applied.draft)
      return value
    } catch (error) {
      if (applied.draft?.error !== undefined && error === applied.draft.error) publish(applied.draft)
      if (error === CONFIG_CHANGED) return NOT_NOW
      throw error
    }
  }

  /**
   * `run`, taking `runNow`'s way when the store can: no promise of the store's, no await before
   * the answer. `otherwise` may answer an error instead (a slice that does not cover the call: it
   * returns the next way to decide it, or `null` to let the error through).
   */
  function runSoon<Request, R>(load: LoadRequest & { configVersion: true }, plan: Plan<Request, R>, request: Request, otherwise?: (error: unknown, request: Request) => R | Promise<R> | null): Promise<R> {
    // A promise given to `Promise.resolve` comes back as itself.
    return Promise.resolve(runMaybeNow(load, plan, request, otherwise))
  }

  /** `runSoon` without wrapping a value decided now in a promise: the value itself, or the promise of the long way (or of a refusal). */
  function runMaybeNow<Request, R>(load: LoadRequest & { configVersion: true }, plan: Plan<Request, R>, request: Request, otherwise?: (error: unknown, request: Request) => R | Promise<R> | null, measured?: Measured): R | Promise<R> {
    let value: R | typeof NOT_NOW
    try {
      value = runNow(load, plan, request, measured)
    } catch (error) {
      return otherwise?.(error, request) ?? Promise.reject(error)
    }
    if (value !== NOT_NOW) return value
    const answer = run(load, plan, request)
    return otherwise === undefined ? answer : answer.catch((error: unknown) => otherwise(error, request) ?? Promise.reject(error))
  }

  // Slices: sessions whose ancestors count every call never draw on one (fixed at creation), so
  // their calls go straight to the locked chain after the first miss.
  const unsliceable = new LRUCache<string, true>({ max: 50_000 })
  const sliceKey = (request: AuthorizeRequest) => `${request.tenant}\u0000${request.sessionId}`
  const authorizeLocked: Plan<AuthorizeRequest, AuthorizeResult> = (state, request, draft) => planAuthorize(state, request, draft, slices)
  const authorizeRecalled: Plan<AuthorizeRequest, AuthorizeResult> = (state, request, draft) => planAuthorizeRecalled(state, request, draft, slices)

  /** An ancestor refused while slices held part of its budget: every slice under the root is recalled, under its tree's lock, and the call decided again. */
  function recalled(error: unknown, request: AuthorizeRequest): Promise<AuthorizeResult> | null {
    return error instanceof SliceRecall ? run({ tenant: request.tenant, sessionId: error.rootId, sessions: 'subtree', expiredHoldsAt: now(), configVersion: true }, authorizeRecalled, request) : null
  }

  /** A call its slice does not cover goes over the locked chain (and never tries a slice again if it never can). */
  function missed(error: unknown, request: AuthorizeRequest): AuthorizeResult | Promise<AuthorizeResult> | null {
    if (!(error instanceof SliceMiss)) return recalled(error, request)
    if (!error.eligible) unsliceable.set(sliceKey(request), true)
    return authorizeOverChain(request)
  }

  function authorize(request: AuthorizeRequest): Promise<AuthorizeResult> {
    return Promise.resolve(authorizeMaybeNow(request))
  }

  /**
   * `authorize`, with the answer itself where the store decided it within this call (memory).
   * `detailsJsonLength`: `JSON.stringify(request.details).length`, where the caller counted it as
   * it cleaned them (the in-process client): the reservation's entry is sized without serialising.
   */
  function authorizeMaybeNow(request: AuthorizeRequest, detailsJsonLength = -1): AuthorizeResult | Promise<AuthorizeResult> {
    if (request.approvalId !== null) return goOn(request)
    const measured = detailsJsonLength >= 0 ? { details: request.details, jsonLength: detailsJsonLength } : undefined
    if (slices !== null && request.idempotencyKey === null && !unsliceable.has(sliceKey(request))) {
      const inSlice: LoadRequest & { configVersion: true } = { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', lock: 'session', configVersion: true }
      return runMaybeNow(inSlice, planAuthorizeInSlice, request, missed, measured)
    }
    return authorizeOverChain(request, measured)
  }

  function authorizeOverChain(request: AuthorizeRequest, measured?: Measured): AuthorizeResult | Promise<AuthorizeResult> {
    const load: LoadRequest & { configVersion: true } =
      request.idempotencyKey === null
        ? { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', expiredHoldsAt: now(), configVersion: true }
        : { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', expiredHoldsAt: now(), configVersion: true, idempotencyKey: request.idempotencyKey }
    return runMaybeNow(load, authorizeLocked, request, recalled, measured)
  }

  const settleLoad = (request: SettleRequest): LoadRequest & { configVersion: true } => ({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', holdId: request.holdId, expiredHoldsAt: now(), configVersion: true })

  function settleMissed(error: unknown, request: SettleRequest): Promise<SettleResult> | null {
    return error instanceof SliceMiss ? runSoon(settleLoad(request), planSettle, request) : null
  }

  function settle(request: SettleRequest): Promise<SettleResult> {
    if (slices === null) return runSoon(settleLoad(request), planSettle, request)
    // A hold drawn from a slice settles on its session's row alone; any other over the locked chain.
    const inSlice: LoadRequest & { configVersion: true } = { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', lock: 'session', holdId: request.holdId, configVersion: true }
    return runSoon(inSlice, planSettleInSlice, request, settleMissed)
  }

  function publish(draft: Draft<unknown> | undefined): void {
    if (!draft) return
    for (let index = 0; index < draft.events.length; index++) events.emit(draft.events[index] as never)
  }

  async function approvalOf(tenant: string, approvalId: string): Promise<HoldRecord & { approval: ApprovalState }> {
    const hold = await store.readApproval(tenant, approvalId)
    if (!hold || hold.approval === null) throw new NotFoundError({ resource: 'approval', id: approvalId })
    return hold as HoldRecord & { approval: ApprovalState }
  }

  /** Times out the pending approvals among `holds` whose deadline passed (as a read would find them decided); whether any was. */
  async function timeOutOverdue(tenant: string, holds: readonly HoldRecord[]): Promise<boolean> {
    const at = now()
    let any = false
    for (const hold of holds) {
      if (hold.approval?.status !== 'pending' || hold.closed !== null || hold.expiresAt > at) continue
      await run({ tenant, sessionId: hold.sessionId, sessions: 'chain', holdId: hold.id, configVersion: true }, planExpireHold, { holdId: hold.id })
      any = true
    }
    return any
  }

  /** A call going on with its approval: the approval's hold is locked with the chain. */
  async function goOn(request: Parameters<HaldirBackend['authorize']>[0]) {
    const hold = await store.readApproval(request.tenant, request.approvalId as string)
    if (!hold) throw new NotFoundError({ resource: 'approval', id: request.approvalId as string })
    const load: LoadRequest & { configVersion: true } = { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', expiredHoldsAt: now(), configVersion: true, holdId: hold.id }
    if (request.idempotencyKey !== null) load.idempotencyKey = request.idempotencyKey
    return run(load, authorizeLocked, request).catch((error: unknown) => recalled(error, request) ?? Promise.reject(error))
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

  /** The batch within this call, for a store that decides synchronously: each outcome, or `undefined` where the store could not decide now. */
  function settleManyNow(request: SettleManyRequest): (SettleOutcome | undefined)[] {
    const results: (SettleOutcome | undefined)[] = []
    for (const item of request.settles) {
      const settleRequest: SettleRequest = { ...item, tenant: request.tenant }
      try {
        const value = runNow(settleLoad(settleRequest), planSettle, settleRequest)
        results.push(value === NOT_NOW ? undefined : { ok: true, ...value })
      } catch (error) {
        results.push({ ok: false, error: toErrorJson(error) })
      }
    }
    return results
  }

  const backend: HaldirBackend = {
    contractVersion: BACKEND_CONTRACT_VERSION,
    name: store.name,

    createSession: (request) =>
      run(request.parentId === null ? { tenant: request.tenant, configVersion: true } : { tenant: request.tenant, sessionId: request.parentId, sessions: 'chain', configVersion: true }, planCreateSession, request),

    getSession: async (request) => found(await store.readSession(request.tenant, request.sessionId), request.sessionId),

    authorize,

    // Each on its own, in order: a store that groups commits (PostgreSQL) groups them.
    authorizeMany: authorizeEach(authorize),

    settle,

    // Each on its own: a store decides them concurrently (PostgreSQL on as many connections);
    // one that decides synchronously (memory) settles the whole batch in this call, so a batch
    // leaves no trail of promise callbacks for the calls after it to run.
    async settleMany(request) {
      if (transactNow === undefined) return { results: await eachOutcome(request.tenant, request.settles, settle) }
      const now = settleManyNow(request)
      // What the store could not decide now (its tenant config changed) goes the long way.
      const undecided = request.settles.filter((_, index) => now[index] === undefined)
      if (undecided.length === 0) return { results: now as SettleOutcome[] }
      const later = await eachOutcome(request.tenant, undecided, (settleRequest) => run(settleLoad(settleRequest), planSettle, settleRequest))
      let next = 0
      return { results: now.map((outcome) => outcome ?? (later[next++] as SettleOutcome)) }
    },

    appendAudit: (request) => run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'self', configVersion: true }, planAppendAudit, request),

    getSpend: async (request) => spendReport(await found(await store.readSpend(request.tenant, request.sessionId), request.sessionId), now()),

    async queryAudit(request) {
      if (request.sessionId !== null) await found(await store.readSession(request.tenant, request.sessionId), request.sessionId)
      return trimPage(await store.queryAudit(request), request.offset)
    },

    async verifyAudit(request) {
      const trail = await found(await store.readTrail(request.tenant, request.sessionId), request.sessionId)
      const chain = verifyAuditChain({ auditKeys: keys.auditKeys, sessionId: request.sessionId, entries: trail.entries, head: trail.head })
      // The chain is intact; the money it records must be what the counters hold.
      const balance = chain.ok ? await ledger.balanceProblem(request.tenant, request.sessionId) : null
      const result = !chain.ok || balance === null ? chain : { ok: false as const, count: chain.count, brokenAt: chain.count, reason: 'balance_mismatch' as const, message: balance }
      if (!result.ok) {
        events.emit({
          id: newId('evt'),
          type: 'audit.broken',
          tenant: request.tenant,
          at: now(),
          sessionId: request.sessionId,
          agentId: null,
          data: { reason: result.reason, brokenAt: result.brokenAt, message: result.message },
        })
      }
      return result
    },

    async revokeSession(request) {
      const result = await run({ tenant: request.tenant, sessionId: request.sessionId, sessions: 'subtree', configVersion: true }, planRevoke, request)
      // Approvals of revoked sessions close, each in its own step, releasing their money. A crash
      // in between leaves them to their deadline: nobody can approve or use them meanwhile,
      // since both check that the session is live.
      if (result.revokedSessionIds.length > 0) {
        const revoked = new Set(result.revokedSessionIds)
        const open = await store.listApprovals(request.tenant, { status: null, sessionId: null, openOnly: true, limit: APPROVAL_BATCH })
        for (const hold of open) {
          if (!revoked.has(hold.sessionId) || hold.approval?.used) continue
          await run({ tenant: request.tenant, sessionId: hold.sessionId, sessions: 'chain', holdId: hold.id, configVersion: true }, planReleaseHold, {
            tenant: request.tenant,
            holdId: hold.id,
            reason: `session ${request.sessionId} revoked${request.reason ? `: ${request.reason}` : ''}; the approval closes, nothing ran`,
          }).catch((error: unknown) => {
            // Closed meanwhile (decided, timed out): nothing left to release.
            if (!NotFoundError.isInstance(error)) throw error
          })
        }
        // Their slices go back to their ancestors now, not at the next recall.
        // The revocation has happened whatever befalls this bookkeeping: a slice not returned here is
        // returned by the next recall (and reported as returned meanwhile), so a failure is not the caller's.
        for (const sessionId of slices === null ? [] : result.revokedSessionIds) {
          await run({ tenant: request.tenant, sessionId, sessions: 'chain', configVersion: true }, planReturnSlice, { sessionId }).catch(() => {})
        }
      }
      return result
    },

    putSecret: (request) =>
      store.putSecret(
        request.tenant,
        { name: request.name, sealed: cipher.seal({ tenant: request.tenant, name: request.name, scopeRequired: request.scopeRequired }, request.value), scopeRequired: request.scopeRequired },
        now(),
      ),

    readSecret: (request) =>
      run(
        { tenant: request.tenant, sessionId: request.sessionId, sessions: 'chain', secretName: request.name, configVersion: true },
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
      return run({ tenant: request.tenant, sessionId: hold.sessionId, sessions: 'chain', holdId: hold.id, configVersion: true }, planReleaseHold, request)
    },

    async sweepHolds(request) {
      const expired = await store.findExpiredHolds(request.tenant, now(), request.limit)
      let released = 0
      for (const hold of expired) {
        if (await run({ tenant: request.tenant, sessionId: hold.sessionId, sessions: 'chain', holdId: hold.id, configVersion: true }, planExpireHold, { holdId: hold.id })) released++
      }
      return { released }
    },

    async getApproval(request): Promise<ApprovalRecord> {
      const hold = await approvalOf(request.tenant, request.approvalId)
      if (await timeOutOverdue(request.tenant, [hold])) return toApprovalRecord(await approvalOf(request.tenant, request.approvalId))
      return toApprovalRecord(hold)
    },

    async listApprovals(request) {
      const filter = { status: request.status, sessionId: request.sessionId, openOnly: false, limit: request.limit }
      let holds = await store.listApprovals(request.tenant, filter)
      if (await timeOutOverdue(request.tenant, holds.slice(0, APPROVAL_BATCH))) holds = await store.listApprovals(request.tenant, filter)
      return holds.map((hold) => toApprovalRecord(hold as HoldRecord & { approval: ApprovalState }))
    },

    async decideApproval(request) {
      const hold = await approvalOf(request.tenant, request.approvalId)
      return run({ tenant: request.tenant, sessionId: hold.sessionId, sessions: 'chain', holdId: hold.id, configVersion: true }, planDecideApproval, request)
    },

    async addApprovalRule(request) {
      const rule = { ...request.rule, id: newId('rul') }
      await store.putApprovalRule(request.tenant, rule, now())
      return rule
    },

    listApprovalRules: (request) => store.listApprovalRules(request.tenant),

    async removeApprovalRule(request) {
      if (!(await store.deleteApprovalRule(request.tenant, request.ruleId))) throw new NotFoundError({ resource: 'rule', id: request.ruleId })
    },

    subscribe: (request, listener) => events.subscribe(request.tenant, listener),

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
  // The client's gate decides, and its settle queue settles a batch, within the call when the store decides synchronously.
  if (transactNow !== undefined) registerDecidesNow(backend, { authorize: authorizeMaybeNow, settles: settleManyNow })
  return backend
}
