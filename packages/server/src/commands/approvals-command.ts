import { type Approval, type ApprovalStatus, ValidationError } from '@haldir/core'
import { type Command, Option } from 'commander'
import { addClientOptions, type ClientFlags, openClient } from './client-flags.ts'

const STATUSES = ['pending', 'approved', 'denied', 'expired', 'all'] as const

/** A line per approval: id | status | agent | tool | amount | reason | deadline or decision. */
export function formatApproval(approval: Approval, now = Date.now()): string {
  const when =
    approval.status === 'pending'
      ? `expires in ${Math.max(0, Math.round((Date.parse(approval.expiresAt) - now) / 1000))}s (then ${approval.onTimeout === 'approve' ? 'approved' : 'denied'})`
      : `${approval.status} by ${approval.decidedBy ?? 'the timeout'}${approval.note ? `: ${approval.note}` : ''}`
  return [approval.id, approval.status.padEnd(8), approval.agentId, approval.tool, `$${approval.amountUsd.toFixed(2)}`, approval.reason, when].join(' | ')
}

/**
 * `haldir approvals list|approve|deny`: the approval queue from the command line, against a
 * server (`--url`, `--key`: deciding needs an approver or admin key) or a store (`--backend`).
 */
export function approvalsCommand(parent: Command): void {
  const connect = (command: Command) => addClientOptions(command, 'an API key (approver or admin to decide; auditor to list)')
  const client = openClient
  const approvals = parent.command('approvals').description('list, approve and deny calls waiting for a person (their money is held meanwhile)')
  connect(approvals.command('list').description('the tenant approvals, newest first'))
    .addOption(new Option('--status <status>', 'which ones').choices([...STATUSES]).default('pending'))
    .option('--session <id>', 'only those of one session')
    .option('--json', 'print them as JSON')
    .action(async (flags: ClientFlags & { status: (typeof STATUSES)[number]; session?: string; json?: boolean }) => {
      const haldir = await client(flags)
      try {
        const listed = await haldir.listApprovals({
          ...(flags.status === 'all' ? {} : { status: flags.status as ApprovalStatus }),
          ...(flags.session ? { sessionId: flags.session } : {}),
          limit: 10_000,
        })
        if (flags.json) console.log(JSON.stringify(listed, null, 2))
        else {
          for (const approval of listed) console.log(formatApproval(approval))
          console.log(`${listed.length} ${flags.status === 'all' ? '' : `${flags.status} `}approval${listed.length === 1 ? '' : 's'}`)
        }
      } finally {
        await haldir.close()
      }
    })
  for (const decision of ['approve', 'deny'] as const) {
    connect(approvals.command(decision).argument('<id>', 'the approval (apr_…)').description(decision === 'approve' ? 'approve: the call goes on with the money held for it' : 'deny: the call does not run; its money is released'))
      .addOption(new Option('--by <name>', 'who decides (recorded on the approval and in the trail)').env('HALDIR_APPROVER'))
      .option('--note <text>', 'why (shown to the agent when denied)')
      .action(async (id: string, flags: ClientFlags & { by?: string; note?: string }) => {
        if (!flags.by) throw new ValidationError({ message: `haldir approvals ${decision} needs --by NAME (or HALDIR_APPROVER): a decision names who made it` })
        const haldir = await client(flags)
        try {
          const options = flags.note === undefined ? { by: flags.by } : { by: flags.by, note: flags.note }
          const decided = decision === 'approve' ? await haldir.approve(id, options) : await haldir.deny(id, options)
          console.log(formatApproval(decided))
        } finally {
          await haldir.close()
        }
      })
  }
}
