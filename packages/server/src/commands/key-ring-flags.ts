import { parseKey, ValidationError } from '@haldir/core/backend'
import { type Command, Option } from 'commander'

/** The previous keys given on the command line, merged with those of the environment. */
export interface KeyRingFlags {
  previousMasterKey: string[]
  previousAuditKey: string[]
}

/** What a backend is given for its key ring (`undefined`: nothing given, the backend reads the environment itself). */
export interface KeyRing {
  previousMasterKeys?: string[]
  previousAuditKeys?: string[]
}

// A bad key is refused here, naming the flag, rather than deep in a backend once the server runs.
const collectKey = (flag: string) => (text: string, earlier: string[]) => {
  try {
    parseKey(text, flag)
  } catch (error) {
    throw new ValidationError({ message: `${flag} must be 32 bytes, as 64 hex characters or base64 (got ${text.length} characters)`, cause: error })
  }
  return [...earlier, text.trim()]
}

/**
 * `--previous-master-key` and `--previous-audit-key`, each repeatable: keys that only open and
 * verify what they sealed before a rotation (docs/key-rotation.md). They add to
 * `HALDIR_PREVIOUS_MASTER_KEYS` / `HALDIR_PREVIOUS_AUDIT_KEYS`, never replace them.
 */
export function addKeyRingOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--previous-master-key <key>', 'an earlier master key: opens old secrets and verifies old trails (repeatable; adds to HALDIR_PREVIOUS_MASTER_KEYS)')
        .default([], 'none')
        .argParser(collectKey('--previous-master-key')),
    )
    .addOption(
      new Option('--previous-audit-key <key>', 'an earlier audit key: verifies old trails (repeatable; adds to HALDIR_PREVIOUS_AUDIT_KEYS)').default([], 'none').argParser(collectKey('--previous-audit-key')),
    )
}

/** The key ring a backend gets: the environment's previous keys, then the flags'. */
export function keyRing(flags: KeyRingFlags, env: NodeJS.ProcessEnv = process.env): KeyRing {
  const merge = (fromEnv: string | undefined, fromFlags: string[], variable: string) => {
    if (fromFlags.length === 0) return undefined
    const listed = (fromEnv ?? '').split(/[\s,]+/).filter(Boolean)
    for (const [index, key] of listed.entries()) {
      try {
        parseKey(key, `${variable}.${index}`)
      } catch (error) {
        throw new ValidationError({ message: `${variable} holds a key that is not 32 bytes (entry ${index + 1})`, cause: error })
      }
    }
    return [...listed, ...fromFlags]
  }
  const previousMasterKeys = merge(env.HALDIR_PREVIOUS_MASTER_KEYS, flags.previousMasterKey, 'HALDIR_PREVIOUS_MASTER_KEYS')
  const previousAuditKeys = merge(env.HALDIR_PREVIOUS_AUDIT_KEYS, flags.previousAuditKey, 'HALDIR_PREVIOUS_AUDIT_KEYS')
  return { ...(previousMasterKeys ? { previousMasterKeys } : {}), ...(previousAuditKeys ? { previousAuditKeys } : {}) }
}
