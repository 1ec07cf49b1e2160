import { createGovernor, type GovernOptions } from './create-governor.ts'

// `never[]` parameters accept every function type while keeping its own signature.
type AnyFunction = (...args: never[]) => unknown

export type WithHaldirOptions<F extends AnyFunction> = Omit<GovernOptions<Parameters<F>, Awaited<ReturnType<F>>>, 'auditName' | 'onDenied'> & {
  /** Name in the audit trail and in `byTool`. @default the function's name, or 'tool' */
  auditName?: string
  /** `'throw'` the typed error, or resolve to a short `BLOCKED: …` message for the model. @default 'throw' */
  onDenied?: 'throw' | 'message'
}

/**
 * Wraps any function in the gate: same parameters, a promise of the same result. Scope,
 * liveness and budget are checked and the cost reserved in one backend call before `fn` runs;
 * the cost is settled and audited after; a throw releases the hold and is audited.
 * `cost` as a function receives the argument list and the result.
 *
 * @example
 * const search = withHaldir(webSearch, { haldir, sessionId: session.id, scope: 'browse', cost: 0.01 })
 * await search('haldir')            // charged $0.01, audited
 */
export function withHaldir<F extends AnyFunction>(
  fn: F,
  options: WithHaldirOptions<F> & { onDenied: 'message' },
): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>> | string>
export function withHaldir<F extends AnyFunction>(
  fn: F,
  options: WithHaldirOptions<F> & { onDenied?: 'throw' },
): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>>>
export function withHaldir<F extends AnyFunction>(fn: F, options: WithHaldirOptions<F>): (...args: Parameters<F>) => Promise<Awaited<ReturnType<F>> | string> {
  const { tool: legacyName, ...rest } = options
  const govern = createGovernor<Parameters<F>, Awaited<ReturnType<F>>>({ ...rest, auditName: options.auditName ?? legacyName ?? (fn.name || 'tool') })
  const governed = (...args: Parameters<F>) => govern(args, () => fn(...args) as Awaited<ReturnType<F>>)
  Object.defineProperty(governed, 'name', { value: fn.name })
  return governed
}
