import { describe, expect, it } from 'vitest'
import { chargeAfterCall } from './charge-after-call.ts'

describe('chargeAfterCall', () => {
  it('charges the computed cost when it is within the reservation', () => {
    expect(chargeAfterCall((input: number, result: number) => input * result, 0.01, 3, 0.05)).toEqual({ actualUsd: 0.03, problem: null })
  })

  it('charges the reservation, flagged, when the cost is over it, is not money, or the function throws', () => {
    expect(chargeAfterCall(() => 0.09, null, null, 0.05)).toEqual({ actualUsd: 0.05, problem: 'cost $0.09 exceeded maxCost $0.05; charged maxCost' })
    expect(chargeAfterCall(() => Number.NaN, null, null, 0.05)).toMatchObject({ actualUsd: 0.05, problem: expect.stringMatching(/^cost function failed \(.+\); charged maxCost$/) })
    expect(
      chargeAfterCall(
        () => {
          throw new Error('no usage in the result')
        },
        null,
        null,
        0.05,
      ),
    ).toEqual({ actualUsd: 0.05, problem: 'cost function failed (no usage in the result); charged maxCost' })
  })
})
