import { ValidationError } from '../errors/validation-error.ts'

/** A tool's cost in USD: fixed, or from its input and result once known (then `maxCost` is reserved first). */
export type ToolCost<Input = never, Result = never> = number | ((input: Input, result: Result) => number)

/**
 * The per-tool options every adapter takes, in the same words: a map per concern keyed by tool
 * name, and a single default for the tools a map does not list.
 */
export interface ToolPolicyOptions<Input = never, Result = never> {
  /** The scope every unlisted tool needs; `null` for liveness and budget only. @default the tool's name */
  scope?: string | null
  /** The scope per tool name. */
  scopes?: Readonly<Record<string, string | null | undefined>>
  /** USD per call of every unlisted tool. @default 0 */
  cost?: ToolCost<Input, Result>
  /** USD per call, per tool name. */
  costs?: Readonly<Record<string, ToolCost<Input, Result> | undefined>>
  /** Reserved before a tool whose cost is a function. @default 1 */
  maxCost?: number
  maxCosts?: Readonly<Record<string, number | undefined>>
}

export interface ToolPolicy<Input = never, Result = never> {
  /** The scope the session must hold; `null`: liveness and budget only. */
  scope: string | null
  cost: ToolCost<Input, Result> | undefined
  /** Set when the cost is a function, or when given. */
  maxCost: number | undefined
}

/** Reserved before a tool whose cost is only known afterwards, when no `maxCost` is given. */
export const DEFAULT_MAX_COST = 1

/**
 * What one tool needs and costs under an adapter's options: the map's entry, else the single
 * default, else the tool's own name as its scope (so nothing is allowed by omission).
 *
 * @example
 * resolveToolPolicy('search', { scopes: { search: 'browse' }, cost: 0.01 }) // { scope: 'browse', cost: 0.01, maxCost: undefined }
 */
export function resolveToolPolicy<Input, Result>(name: string, options: ToolPolicyOptions<Input, Result>): ToolPolicy<Input, Result> {
  for (const map of ['scopes', 'costs', 'maxCosts'] as const) {
    const value = options[map]
    if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
      throw new ValidationError({ issues: [{ path: map, message: 'must be an object keyed by tool name' }] })
    }
  }
  const scopes = options.scopes
  const scope = scopes && Object.hasOwn(scopes, name) ? (scopes[name] ?? null) : options.scope === undefined ? name : options.scope
  const cost = (options.costs && Object.hasOwn(options.costs, name) ? options.costs[name] : undefined) ?? options.cost
  const maxCost = (options.maxCosts && Object.hasOwn(options.maxCosts, name) ? options.maxCosts[name] : undefined) ?? options.maxCost
  return { scope, cost, maxCost: maxCost ?? (typeof cost === 'function' ? DEFAULT_MAX_COST : undefined) }
}
