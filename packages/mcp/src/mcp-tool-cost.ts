import { microsToUsd, usdToMicros, ValidationError } from '@haldir/core'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'

/**
 * A cost read from the call's own arguments, known before the call: `{ argument: 'amount' }`
 * charges `arguments.amount` USD, `{ argument: 'items', multiplier: 0.01 }` a cent per item.
 * Exactly that amount is reserved, and settled once the call succeeds.
 */
export interface ArgumentCost {
  /** A dotted path into the tool's arguments: `amount`, `order.total`. */
  argument: string
  /** USD per unit of the argument (at most 6 decimals). @default 1 */
  multiplier?: number
}

/**
 * What one MCP tool call costs: a number of USD, an {@link ArgumentCost}, or a function of the
 * arguments and the result (then `maxCost` is reserved first and the result's cost settled).
 * The result is the `CallToolResult`, or what the framework's tool returned (AI SDK, LangChain).
 */
export type McpToolCost<Result = CallToolResult> = number | ArgumentCost | ((args: Record<string, unknown>, result: Result) => number)

/** Whether a cost is read from the arguments. */
export function isArgumentCost(cost: unknown): cost is ArgumentCost {
  return typeof cost === 'object' && cost !== null && typeof (cost as ArgumentCost).argument === 'string'
}

/**
 * The USD an {@link ArgumentCost} charges for these arguments. The argument must be a number of
 * USD (or units) that is finite and not negative; otherwise a `ValidationError` names it.
 * A product that falls between two micro-dollars is rounded up, so no fraction goes uncharged.
 *
 * @example
 * costFromArguments({ argument: 'order.total' }, { order: { total: 12.5 } }) // 12.5
 */
export function costFromArguments(cost: ArgumentCost, args: unknown): number {
  const path = `arguments.${cost.argument}`
  let value: unknown = args
  for (const key of cost.argument.split('.')) {
    value = typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined
  }
  if (value === undefined) throw new ValidationError({ issues: [{ path, message: 'is required: the call is priced by it' }] })
  const multiplier = cost.multiplier ?? 1
  if (multiplier === 1) return microsToUsd(usdToMicros(value, path))
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ValidationError({ issues: [{ path, message: `must be a finite number not below 0, got ${JSON.stringify(value) ?? typeof value}` }] })
  }
  const exact = value * usdToMicros(multiplier, 'multiplier')
  const nearest = Math.round(exact)
  // Float noise (0.1 × 100000 = 10000.000000000002) is not a fraction of a micro-dollar; a real one is charged up.
  const micros = Math.abs(exact - nearest) < 1e-6 ? nearest : Math.ceil(exact)
  return microsToUsd(usdToMicros(microsToUsd(micros), path))
}
