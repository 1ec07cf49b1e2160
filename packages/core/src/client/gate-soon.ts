import type { GateDecision, GateOptions, Haldir } from '../types.ts'

/**
 * `haldir.gate()`, answering with the decision itself when the client decided within the call
 * (a memory backend, nothing owed by the settle queue) and with its promise otherwise. Bad options
 * throw here rather than reject: call it where a throw becomes the caller's rejection (an async
 * function).
 */
export type GateSoon = (options: GateOptions) => GateDecision | Promise<GateDecision>

/** What a governor fixes once for all its calls: validated when prepared, as `gate()` would. */
export interface FixedGate {
  scope: string | null
  tool: string
  maxCostUsd: number
  holdTtl?: number
}

/**
 * A `GateSoon` for calls that differ only in their session and details (no idempotency key, no
 * approval asked for or gone on with): only those are checked per call. Throws as `GateSoon` does.
 */
export type PreparedGate = (sessionId: string, details: Record<string, unknown> | undefined) => GateDecision | Promise<GateDecision>

export interface GateSoonOf {
  soon: GateSoon
  prepare(fixed: FixedGate): PreparedGate
}

// Keyed by the client object createHaldir returned, with the `gate` it had: a copy or wrapper of
// the client (another object), or a `gate` replaced on it, is asked through its own `gate`.
const registered = new WeakMap<Haldir, GateSoonOf & { gate: Haldir['gate'] }>()

export function registerGateSoon(haldir: Haldir, soon: GateSoonOf): void {
  registered.set(haldir, { ...soon, gate: haldir.gate })
}

/** The synchronous-when-it-can gate of exactly this client, while its `gate` is the one it was made with. */
export function gateSoonOf(haldir: Haldir): GateSoonOf | undefined {
  const entry = registered.get(haldir)
  return entry !== undefined && entry.gate === haldir.gate ? entry : undefined
}
