import { errorMessage } from '../internal/error-message.ts'
import { usdToMicros } from '../money/usd-to-micros.ts'

/**
 * What a governed call that has run is charged when its cost is computed from the input and the
 * result: the computed cost, or the reservation (`maxCostUsd`) when the cost is over it or the
 * function fails — the call ran, so it is never charged nothing — with the `problem` to flag.
 * Shared by the governor and the MCP adapters so both settle a cost function alike.
 */
export function chargeAfterCall<Input, Result>(
  cost: (input: Input, result: Result) => number,
  input: Input,
  result: Result,
  maxCostUsd: number,
): { actualUsd: number; problem: string | null } {
  try {
    const actualUsd = cost(input, result)
    usdToMicros(actualUsd, 'cost')
    if (actualUsd > maxCostUsd) return { actualUsd: maxCostUsd, problem: `cost $${actualUsd} exceeded maxCost $${maxCostUsd}; charged maxCost` }
    return { actualUsd, problem: null }
  } catch (error) {
    return { actualUsd: maxCostUsd, problem: `cost function failed (${errorMessage(error)}); charged maxCost` }
  }
}
