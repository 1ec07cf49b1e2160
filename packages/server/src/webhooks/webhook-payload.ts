import type { HaldirEvent } from '@haldir/core/backend'

/** A body larger than this is sent without the event's `data` (marked `truncated`), so a receiver and the outbox stay bounded. */
export const MAX_WEBHOOK_BODY_BYTES = 64 * 1024

/**
 * Our events under upstream's names where upstream has one (`HALDIR-API.md` §14.2: it defines
 * these two but never fires them), so a receiver written for upstream recognizes them. The
 * others keep our dotted type as their name.
 */
const UPSTREAM_NAMES: Partial<Record<string, string>> = {
  'budget.exhausted': 'budget_exhausted',
  'approval.requested': 'approval_requested',
}

/** The event name a webhook receives for an event (the `event` field and `X-Haldir-Event`). */
export function webhookEventName(event: HaldirEvent): string {
  return UPSTREAM_NAMES[event.type] ?? event.type
}

/** Whether a webhook subscribed to `events` receives the event: `all`, its name, or our dotted type (either vocabulary works). */
export function webhookWants(events: readonly string[], event: HaldirEvent): boolean {
  return events.includes('all') || events.includes(event.type) || events.includes(webhookEventName(event))
}

/**
 * The body sent for an event, in upstream's layout: the event's own fields first (upstream's
 * for the two events it names), then ours (`type`, `session_id`, `agent_id`, `data`), then the
 * common `event`, `event_id`, `timestamp` (epoch seconds), `source: "haldir"`. Fixed when
 * queued: every attempt sends the same bytes, so a receiver can drop repeats by `event_id`.
 */
export function webhookBody(event: HaldirEvent): string {
  const data = event.data
  const number = (value: unknown) => (typeof value === 'number' ? value : typeof value === 'string' && value !== '' && Number.isFinite(Number(value)) ? Number(value) : 0)
  const text = (value: unknown) => (typeof value === 'string' ? value : '')
  const upstream: Record<string, unknown> =
    event.type === 'budget.exhausted'
      ? { session_id: event.sessionId ?? '', agent_id: event.agentId ?? '', spent: number(data.spentUsd), limit: number(data.limitUsd) }
      : event.type === 'approval.requested'
        ? {
            request_id: text(data.approvalId),
            agent_id: event.agentId ?? '',
            tool: text(data.tool),
            action: text(data.action),
            amount: number(data.amountUsd),
            reason: text(data.reason),
          }
        : {}
  const common = { event: webhookEventName(event), event_id: event.id, timestamp: event.at / 1000, source: 'haldir' }
  const whole = JSON.stringify({ ...upstream, type: event.type, session_id: event.sessionId ?? '', agent_id: event.agentId ?? '', data, ...common })
  if (Buffer.byteLength(whole) <= MAX_WEBHOOK_BODY_BYTES) return whole
  return JSON.stringify({ ...upstream, type: event.type, session_id: event.sessionId ?? '', agent_id: event.agentId ?? '', data: { truncated: true }, ...common })
}
