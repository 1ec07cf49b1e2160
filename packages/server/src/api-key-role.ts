import { ValidationError } from '@haldir/core'
import { closestMatch } from './closest-match.ts'

/**
 * What an API key may do, by role (the operation → roles matrix is `routeRoles`):
 *
 * - `admin`: everything, including storing secrets and reading the whole tenant.
 * - `agent`: runs agents: creates sessions, passes the gate, settles, appends audit, reads
 *   secrets as a session, and reads or revokes a session it names. Never stores secrets, never
 *   lists or queries the whole tenant.
 * - `auditor`: reads only: sessions, spend, the audit trail (whole tenant) and its verification.
 *   Never a secret, never a write.
 * - `approver`: what an auditor reads, plus deciding approvals (the approval routes take this
 *   role when they land).
 */
export const apiKeyRoles = ['admin', 'agent', 'auditor', 'approver'] as const

export type ApiKeyRole = (typeof apiKeyRoles)[number]

/** One line per role, for `haldir keys create` and error messages. */
export const apiKeyRoleDescriptions: Readonly<Record<ApiKeyRole, string>> = {
  admin: 'everything, including storing secrets and reading the whole tenant',
  agent: 'create sessions, pass the gate, settle, audit, read secrets as a session; no tenant-wide reads, no secret writes',
  auditor: 'read sessions, spend and the audit trail of the whole tenant; no writes, no secrets',
  approver: 'what an auditor reads, plus deciding approvals',
}

export function isApiKeyRole(value: unknown): value is ApiKeyRole {
  return typeof value === 'string' && (apiKeyRoles as readonly string[]).includes(value)
}

/** The role named by `value`, or a `ValidationError` that lists the roles and the nearest one. */
export function parseApiKeyRole(value: unknown, path = 'role'): ApiKeyRole {
  if (isApiKeyRole(value)) return value
  const nearest = typeof value === 'string' ? closestMatch(value, apiKeyRoles) : undefined
  const shown = typeof value === 'string' ? `'${value.slice(0, 40)}'` : String(value)
  throw new ValidationError({
    issues: [{ path, message: `unknown role ${shown}${nearest ? ` (did you mean ${nearest}?)` : ''}; roles: ${apiKeyRoles.join(', ')}` }],
  })
}
