// The user API of @haldir/core. Backend and adapter authors: `@haldir/core/backend`.
export { createHaldir, type HaldirOptions } from './create-haldir.ts'
export { withHaldir, type WithHaldirOptions } from './with-haldir.ts'
export {
  createGovernor,
  type DeniedDecision,
  deniedMessage,
  type GovernedCallOptions,
  type GovernOptions,
  type Governor,
  type OnDenied,
  type OnPending,
  type PendingDecision,
  pendingMessage,
} from './create-governor.ts'
export { memoryBackend, type MemoryBackendOptions } from './memory/memory-backend.ts'
export type { SliceOptions } from './engine/slices.ts'
export { httpBackend, type HttpBackendOptions } from './http/http-backend.ts'
export { type LongContextPrice, tokenCost, type TokenPrice, type TokenUsage } from './money/token-cost.ts'
export { findModelPrice, modelPrice, type ModelPriceOptions } from './money/model-price.ts'
export { MODEL_PRICES, MODEL_PRICES_CHECKED, type ModelPriceEntry } from './money/model-prices.ts'
export { MICROS_PER_USD, microsToUsd, usdToMicros } from './money/usd-to-micros.ts'
export { settleModelUsage, MODEL_CALL_ACTION } from './settle-model-usage.ts'
export { DEFAULT_MAX_COST, resolveToolPolicy, type ToolCost, type ToolPolicy, type ToolPolicyOptions } from './adapter/resolve-tool-policy.ts'
export { formatAuditEntry } from './audit/format-audit-entry.ts'
export type { AuditEntry, AuditOutcome } from './audit/audit-entry.ts'
export type { AuditVerification } from './audit/verify-audit-chain.ts'
export type { ApprovalStatus, ApprovalTimeoutAction, DenialCode, HaldirBackend } from './backend/haldir-backend.ts'
export { HALDIR_EVENT_TYPES, type HaldirEvent, type HaldirEventType } from './events/haldir-event.ts'
export { createEventBus, type EventBus, type EventListener } from './events/event-bus.ts'
export type { ConsistencyProof, InclusionProof, LedgerKey, LedgerPage, LedgerProblem, LedgerVerification } from './ledger/ledger-types.ts'
export { type TreeHead, verifyTreeHead } from './ledger/tree-head.ts'
export { verifyConsistency, verifyInclusion } from './ledger/verify-merkle.ts'
export { entryLeafHash } from './ledger/leaf-bytes.ts'
export { type BundleEntry, bundleLines, type BundleManifest, exportBundle, type ExportOptions } from './ledger/export-bundle.ts'
export { type BundleVerification, verifyBundle } from './ledger/verify-bundle.ts'
export type {
  ActiveHours,
  BudgetWindow,
  CallCap,
  RateLimit,
  SessionControlsView,
  WindowSpendView,
  Approval,
  ApprovalRule,
  ApprovalRuleOptions,
  DecideOptions,
  RequireApproval,
  StoredApprovalRule,
  WaitForApprovalOptions,
  AuditTrail,
  AuditTrailQuery,
  CheckPermissionOptions,
  CreateSessionOptions,
  GateDecision,
  GateOptions,
  Haldir,
  Hold,
  HoldSummary,
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
export * from './errors/index.ts'
