#!/usr/bin/env node
import { readFileSync } from 'node:fs'
import { HaldirError } from '@haldir/core'
import { Command } from 'commander'
import { approvalsCommand } from './commands/approvals-command.ts'
import { auditCommand } from './commands/audit-command.ts'
import { holdsCommand } from './commands/holds-command.ts'
import { keysCommand } from './commands/keys-command.ts'
import { serveCommand } from './commands/serve-command.ts'
import { verifyCommand } from './commands/verify-command.ts'

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }

function program(): Command {
  const haldir = new Command('haldir')
    .description('The Haldir server and audit tools.')
    .version(version, '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .showSuggestionAfterError()
    // A command's options belong to it alone (`haldir audit --session` and `haldir audit export --session`).
    .enablePositionalOptions()
    // One prefix for every refusal, commander's own ("unknown option …") and ours.
    .configureOutput({ outputError: (text, write) => write(`haldir: ${text.replace(/^error: /, '')}`) })
    .addHelpText('after', '\nRun `haldir COMMAND --help` for the flags of a command.')
  serveCommand(haldir)
  keysCommand(haldir)
  auditCommand(haldir)
  verifyCommand(haldir)
  holdsCommand(haldir)
  approvalsCommand(haldir)
  return haldir
}

program()
  .parseAsync(process.argv)
  .then(
    () => process.exit(process.exitCode ?? 0),
    (error: unknown) => {
      console.error(`haldir: ${HaldirError.isInstance(error) || error instanceof Error ? error.message : String(error)}`)
      process.exit(1)
    },
  )
