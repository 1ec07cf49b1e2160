import { ValidationError } from '../errors/validation-error.ts'
import { HALDIR_EVENT_TYPES, type HaldirEventType } from '../events/haldir-event.ts'
import {
  approvalRuleSchema,
  decideApprovalOptionsSchema,
  listApprovalsOptionsSchema,
  MAX_APPROVAL_RULES,
  parseInput,
  waitForApprovalOptionsSchema,
} from '../schemas.ts'
import type { Haldir } from '../types.ts'
import { ruleInput, toApproval, toRule } from './approval-shapes.ts'
import type { ClientContext } from './client-context.ts'
import { waitForApproval } from './wait-for-approval.ts'

type ApprovalMethods = Pick<Haldir, 'approve' | 'deny' | 'getApproval' | 'listApprovals' | 'waitForApproval' | 'addApprovalRule' | 'listApprovalRules' | 'removeApprovalRule' | 'on'>

/** The client's approval API: deciding, reading, waiting, the tenant's rules, and events. */
export function approvalMethods(client: ClientContext): ApprovalMethods {
  const { backend, tenant, id } = client

  async function decide(approvalId: unknown, decision: 'approve' | 'deny', options: unknown) {
    const checkedId = id(approvalId, 'approvalId')
    if (typeof options !== 'object' || options === null) {
      throw new ValidationError({ issues: [{ path: 'options.by', message: `say who ${decision === 'approve' ? 'approves' : 'denies'}: { by: 'alice@example.com' }` }] })
    }
    const parsed = parseInput(decideApprovalOptionsSchema, options, 'options')
    return toApproval(await backend.decideApproval({ tenant, approvalId: checkedId, decision, decidedBy: parsed.by, note: parsed.note ?? null }))
  }

  const methods: ApprovalMethods = {
    approve: (approvalId, options) => decide(approvalId, 'approve', options),
    deny: (approvalId, options) => decide(approvalId, 'deny', options),

    async getApproval(approvalId) {
      return toApproval(await backend.getApproval({ tenant, approvalId: id(approvalId, 'approvalId') }))
    },

    async listApprovals(options = {}) {
      const parsed = parseInput(listApprovalsOptionsSchema, options, 'options')
      const records = await backend.listApprovals({ tenant, status: parsed.status ?? null, sessionId: parsed.sessionId ?? null, limit: parsed.limit })
      return records.map(toApproval)
    },

    waitForApproval(approvalId, options = {}) {
      parseInput(waitForApprovalOptionsSchema, options, 'options')
      return waitForApproval(methods, id(approvalId, 'approvalId'), options)
    },

    async addApprovalRule(rule) {
      const parsed = parseInput(approvalRuleSchema, rule, 'rule')
      const existing = await backend.listApprovalRules({ tenant })
      if (existing.length >= MAX_APPROVAL_RULES) {
        throw new ValidationError({ issues: [{ path: 'rule', message: `a tenant has at most ${MAX_APPROVAL_RULES} approval rules; remove one first` }] })
      }
      return toRule(await backend.addApprovalRule({ tenant, rule: ruleInput(parsed) }))
    },

    async listApprovalRules() {
      return (await backend.listApprovalRules({ tenant })).map(toRule)
    },

    async removeApprovalRule(ruleId) {
      await backend.removeApprovalRule({ tenant, ruleId: id(ruleId, 'ruleId') })
    },

    on(type, listener) {
      if (type !== '*' && !HALDIR_EVENT_TYPES.includes(type as HaldirEventType)) {
        throw new ValidationError({ issues: [{ path: 'type', message: `must be '*' or one of ${HALDIR_EVENT_TYPES.join(', ')}` }] })
      }
      if (typeof listener !== 'function') throw new ValidationError({ issues: [{ path: 'listener', message: 'must be a function' }] })
      if (!backend.subscribe) {
        throw new ValidationError({ issues: [{ path: 'type', message: `backend '${backend.name}' does not deliver events` }] })
      }
      return backend.subscribe({ tenant }, (event) => {
        if (type === '*' || event.type === type) listener(event)
      })
    },
  }
  return methods
}
