import { HALDIR_EVENT_TYPES, isWellFormed, ValidationError } from '@haldir/core/backend'

/** A webhook as asked for: where to, a label, which events. */
export interface WebhookRegistration {
  url: string
  name: string
  events: string[]
}

/** Webhooks one tenant may have; each event is one outbox row per webhook. */
export const MAX_WEBHOOKS_PER_TENANT = 20
const MAX_URL_LENGTH = 2048
const MAX_NAME_LENGTH = 200
const MAX_EVENTS = 50

/**
 * Names a webhook may subscribe to: `all`, our event types, and upstream's names (`anomaly` and
 * `compliance.evidence_pack` are accepted so upstream clients can register, but never fire here).
 */
export const WEBHOOK_EVENT_NAMES: ReadonlySet<string> = new Set(['all', ...HALDIR_EVENT_TYPES, 'budget_exhausted', 'approval_requested', 'anomaly', 'compliance.evidence_pack'])

/**
 * Reads a registration (`url`, `name`, `events`) from a request body, or throws a
 * `ValidationError` naming the field, before anything is stored. `events` absent, `null` or
 * empty means `['all']` (upstream's default); an unknown name is refused (upstream stores it,
 * which makes a webhook that silently never fires). Whether the URL may be called is
 * `resolveWebhookTarget`'s question.
 */
export function parseWebhookRegistration(body: unknown): WebhookRegistration {
  const refuse = (path: string, message: string) => new ValidationError({ issues: [{ path, message }] })
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw refuse('body', 'must be a JSON object')
  const record = body as Record<string, unknown>
  const { url } = record
  if (typeof url !== 'string' || url === '') throw refuse('url', 'is required (a string)')
  if (url.length > MAX_URL_LENGTH || !isWellFormed(url)) throw refuse('url', `must be well-formed text of at most ${MAX_URL_LENGTH} characters`)
  const name = record.name === undefined || record.name === null ? '' : record.name
  if (typeof name !== 'string' || name.length > MAX_NAME_LENGTH || !isWellFormed(name)) throw refuse('name', `must be text of at most ${MAX_NAME_LENGTH} characters`)
  const events = record.events === undefined || record.events === null || (Array.isArray(record.events) && record.events.length === 0) ? ['all'] : record.events
  if (!Array.isArray(events) || events.length > MAX_EVENTS || events.some((event) => typeof event !== 'string')) throw refuse('events', `must be a list of at most ${MAX_EVENTS} event names`)
  const unknown = (events as string[]).find((event) => !WEBHOOK_EVENT_NAMES.has(event))
  if (unknown !== undefined) throw refuse('events', `unknown event '${unknown.slice(0, 60)}' (known: ${[...WEBHOOK_EVENT_NAMES].join(', ')})`)
  return { url, name, events: [...new Set(events as string[])] }
}
