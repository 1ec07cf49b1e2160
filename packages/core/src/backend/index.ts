// The backend-author kit (`@haldir/core/backend`): the contract, core's engine and its plans, the
// audit builders and seal, the vault cipher, the request schemas and the HTTP route table.
export {
  BACKEND_CONTRACT_VERSION,
  type ActiveHoursRule,
  type CalendarPeriod,
  type CallCapRule,
  type CallCapUse,
  type RateLimitRule,
  type RateLimitUse,
  type SessionControls,
  type SessionControlsInput,
  type WindowRule,
  type WindowSpend,
  type AddApprovalRuleRequest,
  type ApprovalDemand,
  type ApprovalRecord,
  type ApprovalRequest,
  type ApprovalRuleInput,
  type ApprovalRuleMatch,
  type ApprovalRuleRecord,
  type ApprovalStatus,
  type ApprovalTimeoutAction,
  type DecideApprovalRequest,
  type ListApprovalsRequest,
  type RemoveApprovalRuleRequest,
  type AppendAuditRequest,
  type AuditPage,
  type AuditQuery,
  type AuthorizeManyRequest,
  type AuthorizeManyResult,
  type AuthorizeMode,
  type AuthorizeOutcome,
  type AuthorizeRequest,
  type AuthorizeResult,
  type CreateSessionRequest,
  type DeleteSecretRequest,
  type DenialCode,
  type HaldirBackend,
  type HoldInfo,
  type ListHoldsRequest,
  type ListSessionsRequest,
  type ReleaseHoldRequest,
  type SweepHoldsRequest,
  type PutSecretRequest,
  type ReadSecretRequest,
  type RevokeRequest,
  type RevokeResult,
  type SecretInfo,
  type SessionRecord,
  type SessionRequest,
  MAX_AUTHORIZE_BATCH,
  MAX_SETTLE_BATCH,
  type SettleManyRequest,
  type SettleManyResult,
  type SettleOutcome,
  type SettleRequest,
  type SettleResult,
  type SpendRecord,
  type TenantRequest,
} from './haldir-backend.ts'
export { createStatefulBackend, type StatefulBackendOptions } from '../engine/create-stateful-backend.ts'
export { applySliceChange, decidesElsewhere, type SliceOptions } from '../engine/slices.ts'
export type { StoredSpend, ApprovalFilter, ApprovalState, Changes, CounterChange, Decision, ExpiredHold, HoldClosing, HoldRecord, HoldUpdate, IdempotencyRecord, LoadedState, LoadRequest, SessionState, SliceChange, SliceState, StateStore, StoredSecret } from '../engine/state-store.ts'
export { resultHoldId } from '../engine/result-hold-id.ts'
export { createEventBus, type EventBus, type EventListener } from '../events/event-bus.ts'
export type { DeliveryAttempt, NewWebhook, QueuedDelivery, WebhookRecord, WebhookStore } from './webhook-store.ts'
export { HALDIR_EVENT_TYPES, type HaldirEvent, type HaldirEventType } from '../events/haldir-event.ts'
export { createSecretMask, type SecretMask } from '../engine/secret-mask.ts'
export { MAX_PAGE_BYTES } from '../engine/create-stateful-backend.ts'
export { checkOptionKeys, unknownKeyMessage } from '../internal/check-option-keys.ts'
export { isWellFormed, normalizeText } from '../internal/well-formed-text.ts'
export { keyIdOf } from '../internal/key-id.ts'
export { Draft, type Sealer } from '../engine/draft.ts'
export * from '../engine/plans/index.ts'
export * from '../policy/index.ts'
export * from '../audit/index.ts'
export { createVaultCipher, parseKey, type SealedSecret, type SecretBinding, type VaultCipher } from '../vault/vault-cipher.ts'
export { KEY_OPTIONS, resolveKeys, type KeyInput, type ResolvedKeys } from '../internal/resolve-keys.ts'
export { type IdPrefix, newId } from '../internal/new-id.ts'
export { errorMessage } from '../internal/error-message.ts'
export { toErrorJson } from '../errors/to-error-json.ts'
export { authorizeEach } from './each-outcome.ts'
export { chargeAfterCall } from '../adapter/charge-after-call.ts'
export * from '../schemas.ts'
export { decodeQuery, type HttpOperation, type HttpRoute, httpRoutes, NATIVE_API_PREFIX, type QueryField } from '../http/http-routes.ts'
export { fetchTransport, type HttpTransport } from '../http/http-transport.ts'
export { nodeTransport } from '#default-transport'
export * from '../errors/index.ts'
export { MICROS_PER_USD, microsToUsd, usdToMicros } from '../money/usd-to-micros.ts'
export * from '../ledger/index.ts'
export { createLedgerOperations, type LedgerOperations } from '../engine/ledger-operations.ts'
export type { LogExtension, LogState } from '../engine/state-store.ts'
export { type SessionUsage, type MoneySlot, type CallSlot, emptyUsage } from '../controls/session-usage.ts'
export { periodBounds, type PeriodBounds } from '../controls/period-bounds.ts'
export { checkControls } from '../controls/check-controls.ts'
