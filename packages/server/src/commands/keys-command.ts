import { ValidationError } from '@haldir/core'
import { type Command, Option } from 'commander'
import { apiKeyRoleDescriptions, apiKeyRoles, type ApiKeyRole } from '../api-key-role.ts'
import { apiKeyStore, createApiKey, hashApiKey } from '../api-keys.ts'
import { parseTenant } from '../cli-values.ts'
import { closestMatch } from '../closest-match.ts'

function parseRole(text: string): ApiKeyRole {
  if ((apiKeyRoles as readonly string[]).includes(text)) return text as ApiKeyRole
  const nearest = closestMatch(text, apiKeyRoles)
  throw new ValidationError({ message: `--role must be one of ${apiKeyRoles.join(', ')}${nearest ? ` (did you mean ${nearest}?)` : ''}, got '${text.slice(0, 40)}'` })
}

/** `haldir keys create`: a new API key, shown once, and the line that configures it. */
export function keysCommand(haldir: Command): void {
  const keys = haldir.command('keys').description('manage API keys')
  keys
    .command('create')
    .description('print a new API key (once) and the line that configures it')
    .addOption(new Option('--tenant <name>', 'the tenant the key acts for (its sessions, secrets and audit)').makeOptionMandatory().argParser(parseTenant))
    .addOption(
      new Option('--role <role>', `what the key may do: ${apiKeyRoles.map((role) => `${role} (${apiKeyRoleDescriptions[role]})`).join('; ')}`).makeOptionMandatory().argParser(parseRole),
    )
    .action((flags: { tenant: string; role: ApiKeyRole }) => {
      const key = createApiKey()
      // Validated like a configured key, so what is printed is what the server will accept.
      apiKeyStore([{ tenant: flags.tenant, role: flags.role, key }])
      console.log(`API key (shown once): ${key}`)
      console.log(`role: ${flags.role} (${apiKeyRoleDescriptions[flags.role]})`)
      console.log(`configure the server with: ${flags.tenant}:${flags.role}=${hashApiKey(key)}`)
    })
}
