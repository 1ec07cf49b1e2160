import type { GateDecision, GateOptions, Haldir } from '../types.ts'

/**
 * `haldir.gate()`, answering with the decision itself when the client decided within the call
 * (a memory backend, nothing owed by the settle queue) and with its promise otherwise. Bad options
 * throw here rather than reject: call it where a throw becomes the caller's rejection (an async
 * function).
 */
export type GateSoon = (options: GateOptions) => GateDecision | Promise<GateDecision>

// Keyed by the client object createHaldir returned, with the `gate` it had: a copy or wrapper of
// the client (another object), or a `gate` replaced on it, is asked through its own `gate`.
const registered = new WeakMap<Haldir, { gate: Haldir['gate']; soon: GateSoon }>()

export function registerGateSoon(haldir: Haldir, soon: GateSoon): void {
  registered.set(haldir, { gate: haldir.gate, soon })
}

/** The synchronous-when-it-can gate of exactly this client, while its `gate` is the one it was made with. */
export function gateSoonOf(haldir: Haldir): GateSoon | undefined {
  const entry = registered.get(haldir)
  return entry !== undefined && entry.gate === haldir.gate ? entry.soon : undefined
}
