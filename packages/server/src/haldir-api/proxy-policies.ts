import { codedError, plainError } from './haldir-api-error.ts'

/** A proxy policy as stored: the body it was added with, `type` resolved (`policy_type` wins). */
export type ProxyPolicy = Record<string, unknown> & { type: string }

const isStringList = (value: unknown): value is string[] => Array.isArray(value) && value.every((item) => typeof item === 'string')
const hour = (value: unknown, fallback: number) => (value === undefined ? fallback : value)

/**
 * A policy from a `POST /v1/proxy/policies` body (`HALDIR-API.md` §15.3), checked when it is
 * added rather than when a call trips over it (upstream answers those with 500s): a
 * `spend_limit` needs `max`, a `block_tool` a `tool`, lists are lists of names, hours and rates
 * are whole numbers in range. Unknown types are kept and ignored, as upstream.
 */
export function parseProxyPolicy(body: unknown): ProxyPolicy {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw plainError(400, 'type is required')
  const record = body as Record<string, unknown>
  const type = record.policy_type ?? record.type
  if (typeof type !== 'string' || type === '') throw plainError(400, 'type is required')
  const refuse = (message: string) => codedError(400, 'invalid_policy', message, { type })
  switch (type) {
    case 'block_tool':
      if (typeof record.tool !== 'string' || record.tool === '') throw refuse('block_tool needs a tool name in "tool"')
      break
    case 'allow_list':
    case 'deny_list':
      if (record.tools !== undefined && !isStringList(record.tools)) throw refuse(`${type} needs "tools": a list of tool names`)
      break
    case 'spend_limit':
      if (typeof record.max !== 'number' || !Number.isFinite(record.max) || record.max < 0) throw refuse('spend_limit needs "max": a USD amount >= 0')
      break
    case 'rate_limit': {
      const max = record.max_per_minute ?? 60
      if (!Number.isSafeInteger(max) || (max as number) < 1) throw refuse('rate_limit needs "max_per_minute": a whole number >= 1')
      break
    }
    case 'time_window': {
      const start = hour(record.start_hour, 0)
      const end = hour(record.end_hour, 24)
      if (!Number.isInteger(start) || !Number.isInteger(end) || (start as number) < 0 || (end as number) > 24 || (start as number) > (end as number)) {
        throw refuse('time_window needs whole hours with 0 <= start_hour <= end_hour <= 24 (UTC, no wrap past midnight)')
      }
      break
    }
  }
  return { ...record, type }
}

/**
 * The first policy, in the order they were added, that blocks a call, as upstream's message;
 * `null` when none does. `calledName` is the name as the caller wrote it (`tool` or
 * `upstream.tool`); `recentCalls` is how many calls the same agent made through the proxy in the
 * last minute (counted per tenant here; upstream counts a log shared by all tenants).
 */
export function blockingPolicy(policies: readonly ProxyPolicy[], call: { calledName: string; arguments: Record<string, unknown>; recentCalls: number; now: Date }): string | null {
  const { calledName } = call
  const bare = calledName.slice(calledName.lastIndexOf('.') + 1)
  for (const policy of policies) {
    switch (policy.type) {
      case 'block_tool': {
        const tool = policy.tool as string
        if (calledName === tool || calledName.endsWith(`.${tool}`)) return `Tool '${calledName}' is blocked by policy.`
        break
      }
      case 'allow_list': {
        const tools = (policy.tools as string[] | undefined) ?? []
        if (!tools.includes(calledName) && !tools.includes(bare)) return `Tool '${calledName}' is not in the allow list.`
        break
      }
      case 'deny_list': {
        const tools = (policy.tools as string[] | undefined) ?? []
        if (tools.includes(calledName) || tools.includes(bare)) return `Tool '${calledName}' is blocked.`
        break
      }
      case 'spend_limit': {
        const raw = call.arguments.amount
        const amount = raw === undefined || raw === null || raw === 0 || raw === '' ? 0 : typeof raw === 'number' ? raw : Number(raw)
        // An amount that is not a number cannot be shown to fit the limit: blocked (upstream: a 500).
        if (!Number.isFinite(amount)) return `Spend amount '${String(raw).slice(0, 40)}' is not a number`
        const max = policy.max as number
        if (amount > max) return `Spend $${amount.toFixed(2)} exceeds per-call limit $${max.toFixed(2)}`
        break
      }
      case 'rate_limit': {
        const max = (policy.max_per_minute as number | undefined) ?? 60
        if (call.recentCalls >= max) return `Rate limit exceeded: ${call.recentCalls} calls in last minute (max ${max})`
        break
      }
      case 'time_window': {
        const start = (policy.start_hour as number | undefined) ?? 0
        const end = (policy.end_hour as number | undefined) ?? 24
        const current = call.now.getUTCHours()
        if (!(start <= current && current < end)) {
          return `Tool calls only allowed between ${start}:00-${end}:00 UTC. Current time: ${current}:${String(call.now.getUTCMinutes()).padStart(2, '0')} UTC`
        }
        break
      }
    }
  }
  return null
}
