import type { ApprovalDemand, ApprovalRuleRecord, ApprovalTimeoutAction, SessionRecord } from '../backend/haldir-backend.ts'
import { microsToUsd } from '../money/usd-to-micros.ts'
import { scopesAllow } from './scope-matches.ts'

/** How long a person has to decide when no rule says: long enough to notice, short enough that held money comes back the same hour. */
export const DEFAULT_APPROVAL_TIMEOUT_MS = 10 * 60_000

/** Upstream Haldir's destructive actions. */
export const DEFAULT_DESTRUCTIVE_VERBS: readonly string[] = ['delete', 'write', 'execute', 'send']

/** The call a rule looks at. */
export interface ApprovalSubject {
  tool: string
  scope: string | null
  amountMicros: number
}

/** Why a call waits, combined over every rule that asks for it. */
export interface CombinedDemand {
  reason: string
  timeoutMs: number
  onTimeout: ApprovalTimeoutAction
  /** The rules that asked (ids), and `code` when the caller's own code asked. */
  ruleIds: string[]
}

/** The words of a tool name: `send_email`, `sendEmail`, `send-email` and `files.delete` all contain their verb. */
function wordsOf(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
}

/** Whether one rule sends the call to a person. */
export function ruleMatches(rule: ApprovalRuleRecord, call: ApprovalSubject): boolean {
  switch (rule.kind) {
    case 'all':
      return true
    case 'spend_over':
      return call.amountMicros > rule.thresholdMicros
    case 'tool':
      return rule.tools.includes(call.tool)
    case 'scope':
      return call.scope !== null && scopesAllow(rule.scopes, call.scope)
    case 'destructive': {
      const verbs = rule.verbs ?? DEFAULT_DESTRUCTIVE_VERBS
      return wordsOf(call.tool).some((word) => verbs.includes(word))
    }
  }
}

/** The reason an approver reads when the rule gives none (upstream's texts, where it has the kind). */
export function ruleReason(rule: ApprovalRuleRecord, call: ApprovalSubject): string {
  if (rule.reason !== null) return rule.reason
  switch (rule.kind) {
    case 'all':
      return 'All actions require approval'
    case 'spend_over':
      return `Spend $${microsToUsd(call.amountMicros).toFixed(2)} exceeds $${microsToUsd(rule.thresholdMicros).toFixed(2)} threshold`
    case 'tool':
      return `Tool '${call.tool}' requires approval`
    case 'scope':
      return `Scope '${call.scope}' requires approval`
    case 'destructive':
      return `Destructive action '${call.tool}' requires approval`
  }
}

/**
 * Whether a call waits for a person, over the rules of its session and every ancestor, the
 * tenant's rules, and what the caller's code demands. Every rule that matches counts, not just
 * the first: the deadline is the shortest, and the timeout approves only if every one of them
 * says so. A child's rules only ever add to its ancestors', so no session can loosen what an
 * ancestor or the tenant requires. `null`: the call does not wait.
 */
export function approvalDemand(options: {
  chain: readonly { record: SessionRecord }[]
  tenantRules: readonly ApprovalRuleRecord[]
  demand: ApprovalDemand | null
  call: ApprovalSubject
}): CombinedDemand | null {
  const { chain, tenantRules, demand, call } = options
  let combined: CombinedDemand | null = null
  const add = (id: string, reason: string, timeoutMs: number | null, onTimeout: ApprovalTimeoutAction | null) => {
    const timeout = timeoutMs ?? DEFAULT_APPROVAL_TIMEOUT_MS
    const action = onTimeout ?? 'deny'
    if (combined === null) {
      combined = { reason, timeoutMs: timeout, onTimeout: action, ruleIds: [id] }
      return
    }
    if (!combined.reason.split('; ').includes(reason)) combined.reason = `${combined.reason}; ${reason}`
    if (timeout < combined.timeoutMs) combined.timeoutMs = timeout
    if (action === 'deny') combined.onTimeout = 'deny'
    combined.ruleIds.push(id)
  }
  if (demand !== null) add('code', demand.reason, demand.timeoutMs, demand.onTimeout)
  for (let index = 0; index < chain.length; index++) {
    const rules = (chain[index] as { record: SessionRecord }).record.approvalRules
    for (let at = 0; at < rules.length; at++) {
      const rule = rules[at] as ApprovalRuleRecord
      if (ruleMatches(rule, call)) add(rule.id, ruleReason(rule, call), rule.timeoutMs, rule.onTimeout)
    }
  }
  for (let at = 0; at < tenantRules.length; at++) {
    const rule = tenantRules[at] as ApprovalRuleRecord
    if (ruleMatches(rule, call)) add(rule.id, ruleReason(rule, call), rule.timeoutMs, rule.onTimeout)
  }
  return combined
}
