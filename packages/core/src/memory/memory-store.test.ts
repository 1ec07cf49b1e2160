import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// A store supplies state access and atomicity; every decision is core's (plans and policy).
const POLICY = ['policy/', 'audit-events', 'plans/', 'decideAuthorization', 'checkBudget', 'checkLiveness', 'scopesAllow', 'denialToError', 'planChildSession', 'checkSettleAmount']

describe('the memory store stays thin', () => {
  it('imports no policy and no plan', () => {
    const source = readFileSync(new URL('./memory-store.ts', import.meta.url), 'utf8')
    for (const name of POLICY) expect(source, `memory-store.ts must not use ${name}`).not.toContain(name)
  })
})
