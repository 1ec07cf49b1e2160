import type { Command } from 'commander'
import { wholeNumber } from '../cli-values.ts'
import { addClientOptions, type ClientFlags, openClient } from './client-flags.ts'

interface ListFlags extends ClientFlags {
  session?: string
  limit: number
  json?: boolean
}

/**
 * `haldir holds list | release | sweep`: the open reservations of a tenant (or of one session),
 * an operator's release of one (nothing charged; audited and flagged on its session), and the
 * sweep that releases every hold whose lease ended. Against a server (`--url`, `--key`: listing
 * needs an auditor, approver or admin key, or an agent key with `--session`; releasing needs
 * admin) or a store (`--backend`).
 */
export function holdsCommand(haldir: Command): void {
  const holds = haldir.command('holds').description('list, release and sweep open reservations (holds)')
  addClientOptions(holds.command('list').description('print the open holds, oldest first: id | session | tool | $amount | lease ends'))
    .option('--session <id>', "only this session's holds")
    .option('--limit <count>', 'at most this many', wholeNumber('--limit', { min: 1, max: 10_000 }), 1000)
    .option('--json', 'print the holds as JSON')
    .action(async (flags: ListFlags) => {
      const client = await openClient(flags)
      try {
        const open = await client.listHolds({ ...(flags.session ? { sessionId: flags.session } : {}), limit: flags.limit })
        if (flags.json) console.log(JSON.stringify(open, null, 2))
        else {
          for (const hold of open) console.log(`${hold.id} | ${hold.sessionId} | ${hold.tool} | $${hold.amountUsd.toFixed(6)} | lease ends ${hold.expiresAt}`)
          console.log(`${open.length} open hold${open.length === 1 ? '' : 's'}`)
        }
      } finally {
        await client.close()
      }
    })
  addClientOptions(holds.command('release').description('release an open hold: nothing charged, audited and flagged on its session').argument('<hold-id>', 'the hold (hold_…)'))
    .option('--reason <text>', 'why, for the audit entry')
    .action(async (holdId: string, flags: ClientFlags & { reason?: string }) => {
      const client = await openClient(flags)
      try {
        const entry = await client.releaseHold(holdId, flags.reason ? { reason: flags.reason } : {})
        console.log(`released ${holdId} (session ${entry.sessionId}); audit entry ${entry.id}`)
      } finally {
        await client.close()
      }
    })
  addClientOptions(holds.command('sweep').description('release every hold whose lease ended (each audited)')).action(async (flags: ClientFlags) => {
    const client = await openClient(flags)
    try {
      const { released } = await client.sweepHolds()
      console.log(`released ${released} expired hold${released === 1 ? '' : 's'}`)
    } finally {
      await client.close()
    }
  })
}
