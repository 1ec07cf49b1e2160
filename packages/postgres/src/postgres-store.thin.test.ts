import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

// A store supplies state access and atomicity; every decision is core's (plans and policy).
const POLICY = ['auditEvents', 'planAuthorize', 'planSettle', 'decideAuthorization', 'checkBudget', 'checkLiveness', 'scopesAllow', 'denialToError', 'planChildSession', 'checkSettleAmount']
const STORE_FILES = ['postgres-store.ts', 'load-statements.ts', 'apply-statements.ts', 'batched-transaction.ts', 'rows.ts']

describe('the PostgreSQL store stays thin', () => {
  it.each(STORE_FILES)('%s uses no policy and no plan', (file) => {
    const source = readFileSync(new URL(`./${file}`, import.meta.url), 'utf8')
    for (const name of POLICY) expect(source, `${file} must not use ${name}`).not.toContain(name)
  })
})
