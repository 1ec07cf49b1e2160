import type { HaldirBackend, SettleManyRequest, SettleOutcome } from './haldir-backend.ts'

/**
 * Settles a batch within the call, in order: each item's outcome, or `undefined` for one that
 * could not be decided now (nothing of it was applied; `settleMany` decides it).
 */
export type SettlesNow = (request: SettleManyRequest) => (SettleOutcome | undefined)[]

// Keyed by the very backend object core's engine returned: a wrapper around it (telemetry's
// `Object.create`, a Proxy) is another object, so its own `settleMany` is never bypassed.
const registered = new WeakMap<HaldirBackend, SettlesNow>()

/** Records that `backend` (as made, unwrapped) settles a batch within the call (core's engine over a store that decides synchronously: memory). */
export function registerSettlesNow(backend: HaldirBackend, settles: SettlesNow): void {
  registered.set(backend, settles)
}

/** The synchronous batch settle of exactly this backend object, if it has one. Not part of the backend contract: the client's settle queue uses it when it is there, `settleMany` otherwise. */
export function settlesNowOf(backend: HaldirBackend): SettlesNow | undefined {
  return registered.get(backend)
}
