import type { AuthorizeRequest, AuthorizeResult, HaldirBackend, SettleManyRequest, SettleOutcome } from './haldir-backend.ts'

/**
 * `authorize`, answering with the result itself when the backend decided within the call (memory)
 * and with a promise otherwise (a refusal thrown by the backend included). `detailsJsonLength`:
 * `JSON.stringify(request.details).length` where the caller counted it (-1: not counted).
 */
export type AuthorizeNow = (request: AuthorizeRequest, detailsJsonLength?: number) => AuthorizeResult | Promise<AuthorizeResult>

/**
 * Settles a batch within the call, in order: each item's outcome, or `undefined` for one that
 * could not be decided now (nothing of it was applied; `settleMany` decides it).
 */
export type SettlesNow = (request: SettleManyRequest) => (SettleOutcome | undefined)[]

/** What a backend that decides synchronously (core's engine over memory) can do within the call. */
export interface DecidesNow {
  authorize: AuthorizeNow
  settles: SettlesNow
}

// Keyed by the very backend object core's engine returned: a wrapper around it (telemetry's
// `Object.create`, a Proxy) is another object, so its own `authorize` and `settleMany` are never bypassed.
const registered = new WeakMap<HaldirBackend, DecidesNow>()

/** Records that `backend` (as made, unwrapped) decides within the call. */
export function registerDecidesNow(backend: HaldirBackend, now: DecidesNow): void {
  registered.set(backend, now)
}

/**
 * The synchronous-when-it-can `authorize` of exactly this backend object, if it has one. Not part
 * of the backend contract: the client's gate uses it to hand a governed call its decision without
 * a turn of the microtask queue; `authorize` otherwise.
 */
export function authorizeNowOf(backend: HaldirBackend): AuthorizeNow | undefined {
  return registered.get(backend)?.authorize
}

/** The synchronous batch settle of exactly this backend object, if it has one. Not part of the backend contract: the client's settle queue uses it when it is there, `settleMany` otherwise. */
export function settlesNowOf(backend: HaldirBackend): SettlesNow | undefined {
  return registered.get(backend)?.settles
}
