export { createHaldir, type HaldirOptions } from './create-haldir.ts'
export { withHaldir, type WithHaldirOptions } from './with-haldir.ts'
export { createGovernor, type DeniedDecision, deniedMessage, type GovernOptions, type Governor, type OnDenied } from './create-governor.ts'
export { tokenCost, type TokenPrice, type TokenUsage } from './money/token-cost.ts'
export { settleModelUsage } from './settle-model-usage.ts'
export { memoryBackend, type MemoryBackendOptions } from './memory/memory-backend.ts'
export type {
  AuditTrail,
  AuditTrailQuery,
  CheckPermissionOptions,
  CreateSessionOptions,
  GateDecision,
  GateOptions,
  Haldir,
  Hold,
  LogActionInput,
  PaymentOptions,
  PaymentReceipt,
  PermissionResult,
  ReleaseOptions,
  ReserveOptions,
  Session,
  SettleOptions,
  Spend,
  StoreSecretOptions,
} from './types.ts'
export {
  BACKEND_CONTRACT_VERSION,
  type AppendAuditRequest,
  type AuditPage,
  type AuditQuery,
  type AuthorizeMode,
  type AuthorizeRequest,
  type AuthorizeResult,
  type CreateSessionRequest,
  type DenialCode,
  type HaldirBackend,
  type ListSessionsRequest,
  type PutSecretRequest,
  type ReadSecretRequest,
  type RevokeRequest,
  type RevokeResult,
  type SessionRecord,
  type SessionRequest,
  type SettleRequest,
  type SettleResult,
  type SpendRecord,
  type TenantRequest,
} from './backend.ts'
export * from './errors/index.ts'
export * from './policy/index.ts'
export * from './audit/index.ts'
export { createVaultCipher, parseKey, type SealedSecret, type VaultCipher } from './vault/vault-cipher.ts'
export { MICROS_PER_USD, microsToUsd, usdToMicros } from './money/usd-to-micros.ts'
export { resolveKeys, type KeyInput, type ResolvedKeys } from './internal/resolve-keys.ts'
export { newId } from './internal/new-id.ts'
export { errorMessage } from './internal/error-message.ts'
export * from './schemas.ts'
export * from './http/index.ts'
