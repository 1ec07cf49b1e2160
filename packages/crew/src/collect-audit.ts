import type { Haldir } from '@haldir/core'
import type { AgentAudit } from './format-crew-report.ts'

/** Each member's trail, spend and chain verification, read once the crew's sessions are closed. */
export function collectAudit(haldir: Haldir, members: readonly (readonly [role: string, sessionId: string])[]): Promise<AgentAudit[]> {
  return Promise.all(
    members.map(async ([role, sessionId]) => {
      const [trail, spend, verified] = await Promise.all([haldir.getAuditTrail({ sessionId, limit: 10_000 }), haldir.getSpend(sessionId), haldir.verifyAuditTrail(sessionId)])
      return { role, sessionId, spend, entries: trail.entries, verified: verified.ok }
    }),
  )
}
