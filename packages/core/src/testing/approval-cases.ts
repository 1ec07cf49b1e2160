import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createGovernor } from '../create-governor.ts'
import { createHaldir } from '../create-haldir.ts'
import { ApprovalDeniedError } from '../errors/approval-denied-error.ts'
import { ApprovalError } from '../errors/approval-error.ts'
import { ApprovalPendingError } from '../errors/approval-pending-error.ts'
import { BudgetExceededError } from '../errors/budget-exceeded-error.ts'
import { ForbiddenError } from '../errors/forbidden-error.ts'
import { NotFoundError } from '../errors/not-found-error.ts'
import { SessionRevokedError } from '../errors/session-revoked-error.ts'
import { ValidationError } from '../errors/validation-error.ts'
import type { Approval, CreateSessionOptions, GateDecision, Haldir, Session } from '../types.ts'
import { withHaldir } from '../with-haldir.ts'
import { listenToEvents } from './listen-to-events.ts'
import type { BackendUnderTest, ConformanceHook } from './test-backend.ts'

export interface ApprovalContext {
  haldir: () => Haldir
  subject: () => BackendUnderTest
  tenant: () => string
  session: (extra?: Partial<CreateSessionOptions>) => Promise<Session>
  needs: (hook: ConformanceHook) => (title: string, fn: () => Promise<void>) => void
  /** A client of a tenant nobody else writes to (tenant-wide rules would change other cases). */
  cleanTenant: () => Haldir
}

const errorOf = async (promise: Promise<unknown>): Promise<unknown> => promise.then(() => undefined, (error: unknown) => error)

/** The approval of a pending decision, or a failure naming what came instead. */
function pendingOf(decision: GateDecision): Approval {
  if (decision.allowed || decision.pending !== true) throw new Error(`expected a pending decision, got ${JSON.stringify(decision.allowed ? 'allowed' : decision.reason)}`)
  return decision.approval
}

/**
 * Approvals that hold the money (issue "Human approvals that hold the money"): a call sent to a
 * person reserves its cost from the request on, so nobody else can spend it while it waits and
 * approving it never overdraws; deny, timeout and revocation release it; a decision is final and
 * atomic; tenants never see each other's requests.
 */
export function approvalCases(context: ApprovalContext): void {
  const { session, needs } = context
  const haldir = () => context.haldir()
  const clock = () => {
    const given = context.subject().clock
    if (!given) throw new Error('the clock hook is needed')
    return given
  }
  const gate = (sessionId: string, maxCostUsd: number, extra: Partial<Parameters<Haldir['gate']>[0]> = {}) =>
    haldir().gate({ sessionId, tool: 'purchase', scope: 'browse', maxCostUsd, requireApproval: 'purchases need a person', ...extra })

  describe('approvals: the money is held while a person decides', () => {
    it('a pending $4 call on a $5 budget leaves $1 for others while it waits; approving it never overdraws', async () => {
      const s = await session({ spendLimit: 5 })
      const approval = pendingOf(await gate(s.id, 4))
      expect(approval).toMatchObject({ status: 'pending', amountUsd: 4, tool: 'purchase', reason: 'purchases need a person', sessionId: s.id, used: false })
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 4, remainingUsd: 1 })
      // Others race for the rest while it waits: exactly $1 of it goes, never the held $4.
      const others = await Promise.allSettled(Array.from({ length: 30 }, () => haldir().authorizePayment(s.id, 0.1)))
      expect(others.filter((result) => result.status === 'fulfilled')).toHaveLength(10)
      expect(others.every((result) => result.status === 'fulfilled' || BudgetExceededError.isInstance(result.reason))).toBe(true)
      const decided = await haldir().approve(approval.id, { by: 'alice@example.com', note: 'ok for the conference' })
      expect(decided).toMatchObject({ status: 'approved', decidedBy: 'alice@example.com', note: 'ok for the conference' })
      const goOn = await gate(s.id, 4, { approvalId: approval.id, requireApproval: undefined })
      if (!goOn.allowed) throw new Error(`expected the approved call to go on: ${goOn.reason}`)
      expect(goOn.hold.id).toBe(approval.holdId)
      await goOn.hold.settle(4)
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 5, reservedUsd: 0, remainingUsd: 0 })
      const actions = (await haldir().getAuditTrail({ sessionId: s.id, limit: 100 })).entries.map((entry) => entry.action)
      expect(actions.filter((action) => action.startsWith('approval.'))).toEqual(['approval.request', 'approval.approve'])
      expect(await haldir().verifyAuditTrail(s.id)).toMatchObject({ ok: true })
    })

    it('runs nothing while pending: a settle of the held money is refused, and asking again answers pending', async () => {
      const s = await session()
      const approval = pendingOf(await gate(s.id, 1))
      const settle = await errorOf(context.subject().backend.settle({ tenant: context.tenant(), sessionId: s.id, holdId: approval.holdId, amountMicros: 1_000_000, outcome: 'ok', action: 'execute', flagged: false, reason: null, details: {} }))
      expect(ApprovalPendingError.isInstance(settle)).toBe(true)
      const again = await gate(s.id, 1, { approvalId: approval.id, requireApproval: undefined })
      expect(pendingOf(again).id).toBe(approval.id)
      expect((await haldir().getSpend(s.id)).reservedUsd).toBe(1)
    })

    it('deny releases the hold; the call is refused (audited) when it tries to go on', async () => {
      const s = await session({ spendLimit: 5 })
      const approval = pendingOf(await gate(s.id, 3))
      const denied = await haldir().deny(approval.id, { by: 'bob', note: 'not in the budget plan' })
      expect(denied).toMatchObject({ status: 'denied', decidedBy: 'bob', note: 'not in the budget plan' })
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 0, remainingUsd: 5 })
      const goOn = await gate(s.id, 3, { approvalId: approval.id, requireApproval: undefined })
      expect(goOn.allowed).toBe(false)
      if (goOn.allowed) return
      expect(ApprovalDeniedError.isInstance(goOn.error)).toBe(true)
      expect(goOn.error).toMatchObject({ code: 'approval_denied', status: 'denied', decidedBy: 'bob' })
      const trail = (await haldir().getAuditTrail({ sessionId: s.id })).entries
      expect(trail.find((entry) => entry.action === 'approval.deny')).toMatchObject({ outcome: 'denied', flagged: true, reason: 'denied by bob: not in the budget plan' })
      expect(await haldir().verifyAuditTrail(s.id)).toMatchObject({ ok: true })
    })

    it('revoking the session (or an ancestor) releases its pending approvals on every level', async () => {
      const crew = await session({ spendLimit: 10, scopes: ['*'] })
      const member = await session({ parentId: crew.id, spendLimit: 10 })
      const approval = pendingOf(await gate(member.id, 6))
      expect((await haldir().getSpend(crew.id)).reservedUsd).toBe(6)
      await haldir().revokeSession(crew.id, { reason: 'incident' })
      expect(await haldir().getSpend(crew.id)).toMatchObject({ reservedUsd: 0, totalUsd: 0 })
      expect(await haldir().getSpend(member.id)).toMatchObject({ reservedUsd: 0 })
      expect(await haldir().getApproval(approval.id)).toMatchObject({ status: 'expired', decidedBy: null })
      const late = await errorOf(haldir().approve(approval.id, { by: 'alice' }))
      expect(ApprovalError.isInstance(late) && late.code === 'approval_decided').toBe(true)
      expect(await haldir().verifyAuditTrail(member.id)).toMatchObject({ ok: true })
    })

    needs('clock')('timeout means deny: the hold is released when nobody decides in time (default 10 minutes)', async () => {
      const s = await session({ spendLimit: 5 })
      const approval = pendingOf(await gate(s.id, 2))
      expect(Date.parse(approval.expiresAt) - Date.parse(approval.requestedAt)).toBe(600_000)
      clock().advance(599_000)
      expect((await haldir().getApproval(approval.id)).status).toBe('pending')
      clock().advance(2_000)
      expect(await haldir().getApproval(approval.id)).toMatchObject({ status: 'expired' })
      expect(await haldir().getSpend(s.id)).toMatchObject({ reservedUsd: 0, totalUsd: 0 })
      const late = await errorOf(haldir().approve(approval.id, { by: 'alice' }))
      expect(late).toMatchObject({ code: 'approval_decided' })
      expect((await haldir().getAuditTrail({ sessionId: s.id })).entries.at(-1)).toMatchObject({ action: 'approval.expire', outcome: 'error', flagged: true })
    })

    needs('clock')('a decision arriving after the deadline loses to the timeout, and the sweep releases overdue approvals', async () => {
      const s = await session({ spendLimit: 5 })
      const first = pendingOf(await gate(s.id, 1, { requireApproval: { timeout: 60 } }))
      const second = pendingOf(await gate(s.id, 1, { requireApproval: { timeout: 60 } }))
      clock().advance(61_000)
      expect(await errorOf(haldir().approve(first.id, { by: 'alice' }))).toMatchObject({ code: 'approval_decided' })
      expect(await haldir().getApproval(first.id)).toMatchObject({ status: 'expired' })
      expect((await haldir().sweepHolds()).released).toBeGreaterThanOrEqual(1)
      expect(await haldir().getApproval(second.id)).toMatchObject({ status: 'expired' })
      expect((await haldir().getSpend(s.id)).reservedUsd).toBe(0)
    })

    needs('clock')("a timeout approves only when every matching rule says so; a child's rules cannot loosen its parent's", async () => {
      const parent = await session({ spendLimit: 10, scopes: ['*'], approvalRules: [{ kind: 'spend_over', thresholdUsd: 1, timeout: 120 }] })
      const child = await session({ parentId: parent.id, approvalRules: [{ kind: 'all', timeout: 600, onTimeout: 'approve' }] })
      expect(child.approvalRules).toEqual([expect.objectContaining({ kind: 'all', timeout: 600, onTimeout: 'approve', id: expect.any(String) })])
      // Over the parent's threshold: both rules match; the parent's deadline and its deny win.
      const strict = pendingOf(await haldir().gate({ sessionId: child.id, tool: 'buy', maxCostUsd: 2 }))
      expect(Date.parse(strict.expiresAt) - Date.parse(strict.requestedAt)).toBe(120_000)
      expect(strict.onTimeout).toBe('deny')
      expect(strict.reason).toContain('exceeds $1.00 threshold')
      // Under it: only the child's rule; its timeout approves.
      const lenient = pendingOf(await haldir().gate({ sessionId: child.id, tool: 'buy', maxCostUsd: 0.5 }))
      expect(lenient.onTimeout).toBe('approve')
      clock().advance(601_000)
      expect(await haldir().getApproval(strict.id)).toMatchObject({ status: 'expired' })
      expect(await haldir().getApproval(lenient.id)).toMatchObject({ status: 'approved', decidedBy: null })
      const goOn = await haldir().gate({ sessionId: child.id, tool: 'buy', maxCostUsd: 0.5, approvalId: lenient.id })
      if (!goOn.allowed) throw new Error(goOn.reason)
      await goOn.hold.settle(0.5)
      expect(await haldir().getSpend(parent.id)).toMatchObject({ totalUsd: 0.5, reservedUsd: 0 })
    })

    it('a decision is final and atomic: of 20 racing approvers and deniers exactly one wins', async () => {
      const s = await session({ spendLimit: 5 })
      const approval = pendingOf(await gate(s.id, 4))
      const racers = Array.from({ length: 20 }, (_, index) =>
        index % 2 === 0 ? haldir().approve(approval.id, { by: `approver-${index}` }) : haldir().deny(approval.id, { by: `approver-${index}` }),
      )
      const results = await Promise.allSettled(racers)
      const won = results.filter((result) => result.status === 'fulfilled')
      expect(won).toHaveLength(1)
      const lost = results.flatMap((result) => (result.status === 'rejected' ? [result.reason] : []))
      expect(lost.every((error) => ApprovalError.isInstance(error) && error.code === 'approval_decided')).toBe(true)
      const winner = (won[0] as PromiseFulfilledResult<Approval>).value
      expect(await haldir().getApproval(approval.id)).toMatchObject({ status: winner.status, decidedBy: winner.decidedBy })
      expect((await haldir().getSpend(s.id)).reservedUsd).toBe(winner.status === 'approved' ? 4 : 0)
      const decisions = (await haldir().getAuditTrail({ sessionId: s.id })).entries.filter((entry) => entry.action === 'approval.approve' || entry.action === 'approval.deny')
      expect(decisions).toHaveLength(1)
    })

    it('an approved call goes on once; another call cannot use its approval', async () => {
      const s = await session({ spendLimit: 5 })
      const approval = pendingOf(await gate(s.id, 2))
      await haldir().approve(approval.id, { by: 'alice' })
      const mismatch = await errorOf(haldir().gate({ sessionId: s.id, tool: 'purchase', scope: 'browse', maxCostUsd: 3, approvalId: approval.id }))
      expect(ApprovalError.isInstance(mismatch) && mismatch.code === 'approval_mismatch').toBe(true)
      const other = await session()
      expect(NotFoundError.isInstance(await errorOf(haldir().gate({ sessionId: other.id, tool: 'purchase', scope: 'browse', maxCostUsd: 2, approvalId: approval.id })))).toBe(true)
      const first = await haldir().gate({ sessionId: s.id, tool: 'purchase', scope: 'browse', maxCostUsd: 2, approvalId: approval.id })
      expect(first.allowed).toBe(true)
      const twice = await errorOf(haldir().gate({ sessionId: s.id, tool: 'purchase', scope: 'browse', maxCostUsd: 2, approvalId: approval.id }))
      expect(ApprovalError.isInstance(twice) && twice.code === 'approval_used').toBe(true)
      expect((await haldir().getApproval(approval.id)).used).toBe(true)
    })

    it('an approved payment is charged once when it goes on (charge mode)', async () => {
      const s = await session({ spendLimit: 50 })
      const pending = await errorOf(haldir().authorizePayment(s.id, 20, { description: 'laptop stand', requireApproval: 'purchases over $10' }))
      if (!ApprovalPendingError.isInstance(pending)) throw new Error(`expected ApprovalPendingError, got ${String(pending)}`)
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 0, reservedUsd: 20 })
      await haldir().approve(pending.approvalId, { by: 'alice' })
      const receipt = await haldir().authorizePayment(s.id, 20, { description: 'laptop stand', approvalId: pending.approvalId })
      expect(receipt.entry).toMatchObject({ costUsd: 20, action: 'payment', details: expect.objectContaining({ approvalId: pending.approvalId }) })
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 20, reservedUsd: 0, byTool: { payment: 20 } })
      expect(await errorOf(haldir().authorizePayment(s.id, 20, { approvalId: pending.approvalId }))).toMatchObject({ code: 'approval_used' })
      expect(await haldir().verifyAuditTrail(s.id)).toMatchObject({ ok: true })
    })

    it('the same idempotency key goes on with the approval its first attempt was sent to, once', async () => {
      const s = await session({ spendLimit: 5 })
      const idempotencyKey = `order-${randomUUID()}`
      const first = pendingOf(await gate(s.id, 1, { idempotencyKey }))
      expect(pendingOf(await gate(s.id, 1, { idempotencyKey })).id).toBe(first.id)
      expect((await haldir().getSpend(s.id)).reservedUsd).toBe(1)
      await haldir().approve(first.id, { by: 'alice' })
      const retried = await gate(s.id, 1, { idempotencyKey })
      if (!retried.allowed) throw new Error(retried.reason)
      expect(retried.hold.id).toBe(first.holdId)
      await retried.hold.settle(1)
      expect(await errorOf(gate(s.id, 1, { idempotencyKey }))).toMatchObject({ code: 'approval_used' })
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 1, reservedUsd: 0 })
    })

    it('the agent whose call it is cannot decide it', async () => {
      const s = await session({ agentId: `buyer-${randomUUID().slice(0, 6)}` })
      const approval = pendingOf(await gate(s.id, 1))
      const self = await errorOf(haldir().approve(approval.id, { by: s.agentId }))
      expect(ForbiddenError.isInstance(self)).toBe(true)
      expect((await haldir().getApproval(approval.id)).status).toBe('pending')
    })

    it('refuses bad decisions and rules before anything changes', async () => {
      const s = await session()
      const approval = pendingOf(await gate(s.id, 1))
      expect(ValidationError.isInstance(await errorOf(haldir().approve(approval.id, {} as never)))).toBe(true)
      expect(ValidationError.isInstance(await errorOf(haldir().approve(approval.id, { by: '' })))).toBe(true)
      expect(ValidationError.isInstance(await errorOf(haldir().approve(approval.id, { by: 'alice', notes: 'typo' } as never)))).toBe(true)
      expect(NotFoundError.isInstance(await errorOf(haldir().approve('apr_nope', { by: 'alice' })))).toBe(true)
      expect(ValidationError.isInstance(await errorOf(session({ approvalRules: [{ kind: 'spend_ovr', thresholdUsd: 1 } as never] })))).toBe(true)
      expect(ValidationError.isInstance(await errorOf(session({ approvalRules: [{ kind: 'spend_over', threshold: 1 } as never] })))).toBe(true)
      expect(ValidationError.isInstance(await errorOf(session({ approvalRules: [{ kind: 'all', timeout: 0 }] })))).toBe(true)
      expect(ValidationError.isInstance(await errorOf(gate(s.id, 1, { requireApproval: { timout: 5 } as never })))).toBe(true)
      expect((await haldir().getApproval(approval.id)).status).toBe('pending')
    })

    needs('otherTenant')("tenant B can neither see nor decide tenant A's requests", async () => {
      const s = await session({ spendLimit: 5 })
      const approval = pendingOf(await gate(s.id, 2))
      const subject = context.subject()
      const other = createHaldir({ backend: subject.otherTenant ?? subject.backend, tenant: subject.tenants?.other ?? `t_${randomUUID()}` })
      expect(NotFoundError.isInstance(await errorOf(other.getApproval(approval.id)))).toBe(true)
      expect(NotFoundError.isInstance(await errorOf(other.approve(approval.id, { by: 'mallory' })))).toBe(true)
      expect(NotFoundError.isInstance(await errorOf(other.deny(approval.id, { by: 'mallory' })))).toBe(true)
      expect((await other.listApprovals({ limit: 10_000 })).map((listed) => listed.id)).not.toContain(approval.id)
      expect(await haldir().getApproval(approval.id)).toMatchObject({ status: 'pending' })
      expect((await haldir().listApprovals({ status: 'pending', sessionId: s.id })).map((listed) => listed.id)).toEqual([approval.id])
    })

    it("tenant rules (tool, scope, destructive, spend_over) apply to every session, are listed, and removed", async () => {
      const tenant = context.cleanTenant()
      const rules = [
        await tenant.addApprovalRule({ kind: 'tool', tools: ['wire_money'] }),
        await tenant.addApprovalRule({ kind: 'scope', scopes: ['payments:*'], reason: 'payments need finance' }),
        await tenant.addApprovalRule({ kind: 'destructive' }),
        await tenant.addApprovalRule({ kind: 'spend_over', thresholdUsd: 2.5 }),
      ]
      try {
        expect(await tenant.listApprovalRules()).toEqual(rules)
        const s = await tenant.createSession({ agentId: 'ops', scopes: ['*'], spendLimit: 100 })
        const asks = async (tool: string, scope: string | null, maxCostUsd: number) => {
          const decision = await tenant.gate({ sessionId: s.id, tool, scope, maxCostUsd })
          if (decision.allowed) {
            await decision.hold.release()
            return null
          }
          return pendingOf(decision).reason
        }
        expect(await asks('wire_money', null, 0)).toBe("Tool 'wire_money' requires approval")
        expect(await asks('refund', 'payments:refund', 0)).toBe('payments need finance')
        expect(await asks('sendEmail', null, 0)).toBe("Destructive action 'sendEmail' requires approval")
        expect(await asks('files.delete', null, 0)).toBe("Destructive action 'files.delete' requires approval")
        expect(await asks('search', null, 3)).toBe('Spend $3.00 exceeds $2.50 threshold')
        expect(await asks('search', null, 2.5)).toBeNull()
        expect(await asks('sender_stats', 'reports', 0)).toBeNull()
        for (const rule of rules) await tenant.removeApprovalRule(rule.id)
        expect(await tenant.listApprovalRules()).toEqual([])
        expect(await asks('wire_money', null, 0)).toBeNull()
        expect(NotFoundError.isInstance(await errorOf(tenant.removeApprovalRule(rules[0]?.id as string)))).toBe(true)
      } finally {
        for (const rule of await tenant.listApprovalRules()) await tenant.removeApprovalRule(rule.id)
      }
    })

    it('waitForApproval resolves when a person decides, and a governed call waits, then runs once and is charged', async () => {
      const s = await session({ spendLimit: 10 })
      const runs: string[] = []
      const buy = withHaldir(
        async (item: string) => {
          runs.push(item)
          return `bought ${item}`
        },
        { haldir: haldir(), sessionId: s.id, auditName: 'buy', cost: 3, requireApproval: ([item]: [string]) => item === 'laptop' && 'laptops need a person' },
      )
      expect(await buy('pen')).toBe('bought pen')
      const waiting = buy('laptop')
      let approval: Approval | undefined
      for (let attempt = 0; attempt < 200 && !approval; attempt++) {
        approval = (await haldir().listApprovals({ status: 'pending', sessionId: s.id }))[0]
        if (!approval) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      if (!approval) throw new Error('the governed call never asked for approval')
      expect(approval.reason).toBe('laptops need a person')
      expect(runs).toEqual(['pen'])
      await haldir().approve(approval.id, { by: 'alice' })
      expect(await waiting).toBe('bought laptop')
      expect(runs).toEqual(['pen', 'laptop'])
      expect(await haldir().getSpend(s.id)).toMatchObject({ totalUsd: 6, reservedUsd: 0 })
    })

    it('a governed call waiting for a person is refused when denied, and stops waiting on its signal', async () => {
      const s = await session({ spendLimit: 5 })
      const runs: number[] = []
      const govern = withHaldir(async (n: number) => runs.push(n), { haldir: haldir(), sessionId: s.id, auditName: 'act', cost: 1, requireApproval: true, onDenied: 'message' })
      const waiting = govern(1)
      let approval: Approval | undefined
      for (let attempt = 0; attempt < 200 && !approval; attempt++) {
        approval = (await haldir().listApprovals({ status: 'pending', sessionId: s.id }))[0]
        if (!approval) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      await haldir().deny(approval?.id as string, { by: 'bob', note: 'no' })
      expect(await waiting).toMatch(/^BLOCKED: approval apr_.* was denied by bob: no$/)
      expect(runs).toEqual([])
      expect((await haldir().getSpend(s.id)).reservedUsd).toBe(0)
      const throwing = createGovernor<number, number>({ haldir: haldir(), sessionId: s.id, auditName: 'act', cost: 1, requireApproval: true, onPending: 'throw' })
      const pending = await errorOf(throwing(2, () => 2))
      expect(ApprovalPendingError.isInstance(pending)).toBe(true)
      const waitingGovernor = createGovernor<number, number>({ haldir: haldir(), sessionId: s.id, auditName: 'act', cost: 1, requireApproval: true })
      const controller = new AbortController()
      const stopped = waitingGovernor(3, () => 3, { signal: controller.signal })
      setTimeout(() => controller.abort(new Error('user left')), 30)
      expect(await errorOf(stopped)).toMatchObject({ message: 'user left' })
    })

    it('events: listeners hear requests and decisions of their own tenant only', async (ctx) => {
      if (!context.subject().backend.subscribe) {
        ctx.skip()
        return
      }
      const { heard, stop } = await listenToEvents(haldir(), await session())
      try {
        const s = await session({ spendLimit: 5 })
        const approval = pendingOf(await gate(s.id, 1))
        await haldir().deny(approval.id, { by: 'bob' })
        await revokedQuietly(s.id)
        for (let attempt = 0; attempt < 100 && heard.filter((event) => event.sessionId === s.id).length < 4; attempt++) await new Promise((resolve) => setTimeout(resolve, 10))
        const mine = heard.filter((event) => event.sessionId === s.id)
        expect(mine.map((event) => event.type)).toEqual(['approval.requested', 'approval.decided', 'session.revoked', 'call.denied'])
        expect(mine[3]).toMatchObject({ data: { code: 'session_revoked', tool: 'payment' } })
        expect(mine[0]).toMatchObject({ tenant: context.tenant(), data: { approvalId: approval.id, amountUsd: 1, status: 'pending' } })
        expect(mine[1]).toMatchObject({ data: { approvalId: approval.id, status: 'denied', decidedBy: 'bob' } })
        expect(heard.filter((event) => event.tenant !== context.tenant())).toEqual([])
      } finally {
        stop()
      }
    })
  })

  async function revokedQuietly(sessionId: string): Promise<void> {
    await haldir().revokeSession(sessionId)
    expect(SessionRevokedError.isInstance(await errorOf(haldir().authorizePayment(sessionId, 0.01)))).toBe(true)
  }
}
