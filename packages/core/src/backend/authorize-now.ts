import type { AuthorizeRequest, AuthorizeResult, HaldirBackend } from './haldir-backend.ts'

/**
 * `authorize`, answering with the result itself when the backend decided within the call (memory)
 * and with a promise otherwise (a refusal thrown by the backend included). `detailsJsonLength`:
 * `JSON.stringify(request.details).length` where the caller counted it (-1: not counted).
 */
export type AuthorizeNow = (request: AuthorizeRequest, detailsJsonLength?: number) => AuthorizeResult | Promise<AuthorizeResult>

// Keyed by the very backend object core's engine returned, as `settlesNowOf`: a wrapper around it
// (telemetry's `Object.create`, a Proxy) is another object, so its own `authorize` is never bypassed.
const registered = new WeakMap<HaldirBackend, AuthorizeNow>()

/** Records that `backend` (as made, unwrapped) can answer `authorize` within the call. */
export function registerAuthorizeNow(backend: HaldirBackend, authorize: AuthorizeNow): void {
  registered.set(backend, authorize)
}

/**
 * The synchronous-when-it-can `authorize` of exactly this backend object, if it has one. Not part
 * of the backend contract: the client's gate uses it to hand a governed call its decision without
 * a turn of the microtask queue; `authorize` otherwise.
 */
export function authorizeNowOf(backend: HaldirBackend): AuthorizeNow | undefined {
  return registered.get(backend)
}
