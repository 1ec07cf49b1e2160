import type { KeyScope } from './key-scopes.ts'

/**
 * Every operation of the Haldir API this server speaks, with the upstream API-key scope it
 * requires (`null`: none; the route has its own rule). Upstream's table (`HALDIR-API.md` §3),
 * except where upstream checks nothing (§18 #4): minting sessions needs `sessions:write`, moving
 * money `payments:write`. Beside the key scope, the key's **role** must allow the operation
 * (`haldirApiRoles` in `route-roles.ts`).
 */
export const haldirApiOperations = {
  createKey: { keyScope: 'admin:write' },
  listKeys: { keyScope: 'admin:read' },
  revokeKey: { keyScope: 'admin:write' },
  getUsage: { keyScope: 'admin:read' },
  createSession: { keyScope: 'sessions:write' },
  getSession: { keyScope: 'sessions:read' },
  revokeSession: { keyScope: 'sessions:write' },
  checkPermission: { keyScope: 'sessions:read' },
  storeSecret: { keyScope: 'vault:write' },
  listSecrets: { keyScope: 'vault:read' },
  getSecret: { keyScope: 'vault:read' },
  deleteSecret: { keyScope: 'vault:write' },
  authorizePayment: { keyScope: 'payments:write' },
  logAction: { keyScope: 'audit:write' },
  queryAudit: { keyScope: 'audit:read' },
  getSpend: { keyScope: 'audit:read' },
  verifyAudit: { keyScope: 'audit:read' },
  exportAudit: { keyScope: 'audit:read' },
  treeHead: { keyScope: 'audit:read' },
  inclusionProof: { keyScope: 'audit:read' },
  consistencyProof: { keyScope: 'audit:read' },
  sthLog: { keyScope: 'audit:read' },
  registerUpstream: { keyScope: 'proxy:write' },
  listUpstreams: { keyScope: 'proxy:read' },
  listProxyTools: { keyScope: 'proxy:read' },
  callProxyTool: { keyScope: 'proxy:write' },
  addProxyPolicy: { keyScope: 'proxy:write' },
  listProxyPolicies: { keyScope: 'proxy:read' },
  addApprovalRule: { keyScope: 'approvals:write' },
  listApprovalRules: { keyScope: 'approvals:read' },
  removeApprovalRule: { keyScope: 'approvals:write' },
  requestApproval: { keyScope: 'approvals:write' },
  getApproval: { keyScope: 'approvals:read' },
  listPendingApprovals: { keyScope: 'approvals:read' },
  approveRequest: { keyScope: 'approvals:write' },
  denyRequest: { keyScope: 'approvals:write' },
  createWebhook: { keyScope: 'webhooks:write' },
  listWebhooks: { keyScope: 'webhooks:read' },
  listWebhookDeliveries: { keyScope: 'webhooks:read' },
  rotateWebhookSecret: { keyScope: 'webhooks:write' },
  deleteWebhook: { keyScope: 'webhooks:write' },
} as const satisfies Record<string, { keyScope: KeyScope | null }>

export type HaldirApiOperation = keyof typeof haldirApiOperations
