import { memoryBackend } from '@haldir/core'
import { apiKeyStore, createApiKey, serveHaldir } from '@haldir/server'
import { expect, it } from 'vitest'
import { runCrewRecipe } from './crew-recipe.ts'

it('runs the CrewAI recipe with plain fetch against the Haldir API: exact spends, a summed crew budget, vault by scope, revocation', async () => {
  const apiKey = createApiKey()
  const server = await serveHaldir({ backend: memoryBackend(), apiKeys: apiKeyStore([{ tenant: 'crew', role: 'admin', key: apiKey }]), port: 0, publishTreeHeadsEveryMs: false })
  try {
    const result = await runCrewRecipe(server.url, apiKey)
    expect(result.outputs).toEqual({
      researcher: ['3 results for agent governance', '3 results for audit trails', '3 results for budgets', "BLOCKED: write_db needs scope 'db_write'"],
      analyst: ['rows for select 1', 'rows for select 2', 'stored metrics', "BLOCKED: send_email needs scope 'send_email'"],
      writer: ['sent to ceo@example.com', 'rendered brief', 'rendered appendix', 'BLOCKED: Insufficient budget. Remaining: $0.49, requested: $0.75', "BLOCKED: web_search needs scope 'browse'"],
    })
    // Exact: 3 × 0.05, 2 × 0.02 + 0.10, 0.01 + 2 × 0.75; each paid action counted once.
    expect(result.spend).toEqual({
      researcher: { totalUsd: 0.15, sessionSpentUsd: 0.15 },
      analyst: { totalUsd: 0.14, sessionSpentUsd: 0.14 },
      writer: { totalUsd: 1.51, sessionSpentUsd: 1.51 },
    })
    expect(result.crewTotalUsd).toBe(1.8)
    expect(result.report.filter((line) => line.startsWith('Agent:'))).toEqual([
      expect.stringMatching(/^Agent: researcher \(\d+ entries, \$0\.15 spent\)$/),
      expect.stringMatching(/^Agent: analyst \(\d+ entries, \$0\.14 spent\)$/),
      expect.stringMatching(/^Agent: writer \(\d+ entries, \$1\.51 spent\)$/),
    ])
    // Refused checks are on the trail too (flagged), though the recipe never logs them.
    expect(result.report.filter((line) => / \| haldir \| check_permission \| BLOCKED \| \$0\.00$/.test(line))).toHaveLength(3)
    expect(result.report.filter((line) => / \| web_search \| execute \| OK \| \$0\.05$/.test(line))).toHaveLength(3)
    expect(result.vault).toEqual({ analyst: 'pg-analytics-7731', researcher: "refused: Session lacks 'db_write' scope for secret 'db_password'" })
    expect(result.afterRevoke).toBe("BLOCKED: web_search needs scope 'browse'")
    expect(result.verified).toBe(true)
  } finally {
    await server.close()
  }
})
