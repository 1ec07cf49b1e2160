import { ForbiddenError } from '@haldir/core'
import type { HttpOperation } from '@haldir/core/backend'
import { type ApiKeyRole, apiKeyRoles } from './api-key-role.ts'
import type { HaldirApiOperation } from './haldir-api/haldir-api-operations.ts'

/**
 * How a role may use an operation: `any` request, or only a request that names a session
 * (`named-session`: a session id is an unguessable capability, so an agent may read the trail
 * of a session it holds, but not enumerate the tenant's).
 */
export type RoleGrant = 'any' | 'named-session'

const everyone = { admin: 'any', agent: 'any', auditor: 'any', approver: 'any' } as const
const readers = { admin: 'any', auditor: 'any', approver: 'any' } as const
const runners = { admin: 'any', agent: 'any' } as const

/**
 * Which roles may call each operation of the route table. A role missing from an entry is
 * refused with a `ForbiddenError` (403 `forbidden`). Keyed by every `HttpOperation`, so a new
 * route does not compile until it is given its roles; an operation missing at run time is
 * admin-only.
 */
export const routeRoles: Readonly<Record<HttpOperation, Readonly<Partial<Record<ApiKeyRole, RoleGrant>>>>> = {
  createSession: runners,
  listSessions: readers,
  getSession: everyone,
  authorize: runners,
  authorizeMany: runners,
  settle: runners,
  settleMany: runners,
  appendAudit: runners,
  getSpend: everyone,
  verifyAudit: everyone,
  // Revoking only takes permissions away; a crew revokes its members and itself when it ends.
  revokeSession: runners,
  queryAudit: { ...readers, agent: 'named-session' },
  putSecret: { admin: 'any' },
  // Names are the tenant's inventory, and deleting one is an operator's act.
  listSecrets: { admin: 'any' },
  deleteSecret: { admin: 'any' },
  readSecret: runners,
  // An agent sees the holds of a session it names; releasing someone's hold is an operator's act.
  listHolds: { ...readers, agent: 'named-session' },
  releaseHold: { admin: 'any' },
  // Releasing holds whose lease ended only frees money nobody may use any more.
  sweepHolds: runners,
  // Heads, proofs and keys are what anyone holding an entry checks it with; the whole log is for auditors.
  treeHead: everyone,
  inclusionProof: everyone,
  consistencyProof: everyone,
  treeHeads: everyone,
  ledgerKeys: everyone,
  ledgerPage: readers,
  verifyLedger: readers,
  // An agent waits on its own approval by id (unguessable), and lists those of a session it names.
  getApproval: everyone,
  listApprovals: { ...readers, agent: 'named-session' },
  // Deciding is what approver keys are for; never an agent's (it would approve its own requests).
  decideApproval: { admin: 'any', approver: 'any' },
  addApprovalRule: { admin: 'any' },
  removeApprovalRule: { admin: 'any' },
  listApprovalRules: readers,
}

/** Routes the server serves beside the route table (they are not backend operations). */
export type ServerOperation =
  | 'exportLedger'
  | 'dashboardRevokeSession'
  | 'dashboardKeys'
  | 'createWebhook'
  | 'listWebhooks'
  | 'listWebhookDeliveries'
  | 'rotateWebhookSecret'
  | 'deleteWebhook'

/**
 * Which roles may call each server-only route, as {@link routeRoles} does for the route table.
 * An export is the trail itself: the whole tenant's for readers, one named session's for an agent.
 * Webhooks send the tenant's events out: an admin's to set up, readers see where they went.
 */
export const serverRouteRoles: Readonly<Record<ServerOperation, Readonly<Partial<Record<ApiKeyRole, RoleGrant>>>>> = {
  exportLedger: { ...readers, agent: 'named-session' },
  // The dashboard's revoke button stops a running crew for a person at a screen: an operator's act
  // (an agent revokes its own sessions through the native API, never through a browser).
  dashboardRevokeSession: { admin: 'any' },
  // The tenant's keys (ids and roles, never a key) and revoking minted ones: an operator's, as on the Haldir API.
  dashboardKeys: { admin: 'any' },
  createWebhook: { admin: 'any' },
  listWebhooks: readers,
  listWebhookDeliveries: readers,
  rotateWebhookSecret: { admin: 'any' },
  deleteWebhook: { admin: 'any' },
}

/**
 * Which roles may call each operation of the Haldir API (upstream's REST API at `/v1`), on top
 * of the upstream key scope the operation requires (`haldirApiOperations`). The same roles as
 * the native API: an agent runs sessions (creates, checks, pays, logs, reads secrets as a
 * session, reads what concerns a session it names); readers read the tenant; keys, the vault's
 * inventory, the proxy's configuration and webhooks are an admin's; approvers decide approvals.
 * Checks write an entry when they refuse, so they are not for readers.
 */
export const haldirApiRoles: Readonly<Record<HaldirApiOperation, Readonly<Partial<Record<ApiKeyRole, RoleGrant>>>>> = {
  createKey: { admin: 'any' },
  listKeys: { admin: 'any' },
  revokeKey: { admin: 'any' },
  getUsage: readers,
  createSession: runners,
  getSession: everyone,
  revokeSession: runners,
  checkPermission: runners,
  storeSecret: { admin: 'any' },
  listSecrets: { admin: 'any' },
  getSecret: runners,
  deleteSecret: { admin: 'any' },
  authorizePayment: runners,
  logAction: runners,
  queryAudit: { ...readers, agent: 'named-session' },
  getSpend: { ...readers, agent: 'named-session' },
  verifyAudit: readers,
  exportAudit: { ...readers, agent: 'named-session' },
  treeHead: everyone,
  inclusionProof: everyone,
  consistencyProof: everyone,
  sthLog: everyone,
  registerUpstream: { admin: 'any' },
  listUpstreams: everyone,
  listProxyTools: everyone,
  callProxyTool: runners,
  addProxyPolicy: { admin: 'any' },
  listProxyPolicies: readers,
  addApprovalRule: { admin: 'any' },
  listApprovalRules: readers,
  removeApprovalRule: { admin: 'any' },
  // An agent asks (its own money is held); only approvers and admins decide, so no agent approves itself.
  requestApproval: runners,
  getApproval: everyone,
  listPendingApprovals: readers,
  approveRequest: { admin: 'any', approver: 'any' },
  denyRequest: { admin: 'any', approver: 'any' },
  // Where the tenant's events go, and the secrets that sign them, are an admin's; readers see where they went.
  createWebhook: { admin: 'any' },
  listWebhooks: readers,
  listWebhookDeliveries: readers,
  rotateWebhookSecret: { admin: 'any' },
  deleteWebhook: { admin: 'any' },
}

/**
 * Refuses (throws `ForbiddenError`) a role that may not call `operation`. Without `request` it
 * checks only whether the role has any grant (before the body is read); with the parsed
 * request it also checks a `named-session` grant.
 */
export function authorizeRole(role: ApiKeyRole, operation: HttpOperation | ServerOperation, request?: Readonly<Record<string, unknown>>): void {
  const grants = (routeRoles as Partial<Record<string, Partial<Record<ApiKeyRole, RoleGrant>>>>)[operation] ?? (serverRouteRoles as Partial<Record<string, Partial<Record<ApiKeyRole, RoleGrant>>>>)[operation] ?? { admin: 'any' }
  const grant = grants[role]
  const allowedRoles = () => apiKeyRoles.filter((candidate) => grants[candidate] !== undefined)
  if (grant === undefined) throw new ForbiddenError({ role, operation, allowedRoles: allowedRoles() })
  if (grant === 'named-session' && request !== undefined && (typeof request.sessionId !== 'string' || request.sessionId === '')) {
    throw new ForbiddenError({
      role,
      operation,
      allowedRoles: allowedRoles(),
      message: `An API key with role '${role}' may ${operation} only for a session it names (sessionId); reading the whole tenant needs ${allowedRoles().filter((candidate) => grants[candidate] === 'any').join(', ')}`,
    })
  }
}
