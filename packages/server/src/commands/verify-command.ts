import { readFileSync } from 'node:fs'
import { type Haldir, type TreeHead, ValidationError, verifyBundle, verifyConsistency, verifyTreeHead } from '@haldir/core'
import { treeHeadSchema } from '@haldir/core/backend'
import { type Command, Option } from 'commander'
import { addClientOptions, type ClientFlags, openClient } from './client-flags.ts'
import { defaultStateFile, logIdentity, treeHeadState } from './tree-head-state.ts'

interface VerifyFlags extends ClientFlags {
  session?: string
  bundle?: string
  publicKey: string[]
  earlierHead?: string
  stateFile?: string
  full?: boolean
  json?: boolean
}

/** Exit code of anything found broken: a chain, a log that shrank or forked, a bundle that does not check out. */
const BROKEN = 2

/**
 * `haldir verify`, three ways:
 * - `--session ID`: the session's HMAC chain and balances (on the server or store);
 * - no `--session`, no `--bundle`: the newest signed tree head, checked for consistency with the
 *   last head this CLI accepted for the same log (kept in a state file); `--full` also has the
 *   server recompute every leaf, chain and balance;
 * - `--bundle FILE --public-key KEY`: an export bundle, offline, with the public key alone.
 */
export function verifyCommand(haldir: Command): void {
  addClientOptions(
    haldir
      .command('verify')
      .description("check the log: the newest signed tree head against the last one seen (default), a session's chain (--session), or an export bundle offline (--bundle); exit 0 intact, 2 broken"),
  )
    .option('--session <id>', "check one session's hash chain and balances")
    .option('--bundle <file>', 'check an export bundle (JSONL) offline: no server, no secret key')
    .addOption(new Option('--public-key <key>', 'with --bundle: a tree-head signing key to trust, 64 hex or the base64url `x` of /.well-known/jwks.json (repeatable)').default([], 'none').argParser(collect))
    .option('--earlier-head <file>', 'with --bundle: a tree head you kept (JSON); the bundle must extend it')
    .addOption(new Option('--state-file <file>', `where the last accepted head of each log is kept (default: ${defaultStateFile()})`).env('HALDIR_STATE_FILE'))
    .option('--full', 'also have the server recompute every leaf, chain and balance of the tenant (slow on big logs)')
    .option('--json', 'print the result as JSON')
    .action(async (flags: VerifyFlags) => {
      if (flags.bundle) {
        process.exitCode = verifyBundleFile(flags)
        return
      }
      if (flags.publicKey.length > 0 || flags.earlierHead) throw new ValidationError({ message: '--public-key and --earlier-head go with --bundle FILE' })
      const client = await openClient(flags)
      try {
        process.exitCode = flags.session ? await verifySession(client, flags.session) : await verifyLog(client, flags)
      } finally {
        await client.close()
      }
    })
}

const collect = (text: string, earlier: string[]) => [...earlier, text]

async function verifySession(haldir: Haldir, sessionId: string): Promise<number> {
  const result = await haldir.verifyAuditTrail(sessionId)
  if (result.ok) {
    console.log(`ok: ${result.count} entries, chain intact`)
    return 0
  }
  console.log(`BROKEN at entry ${result.brokenAt} (${result.reason}): ${result.message}`)
  return BROKEN
}

/**
 * The newest head, signed by a key the server publishes; then, if this CLI accepted a head of
 * the same log before, the proof that the log only grew since: a smaller log, a different root
 * at the same size, or a consistency proof that does not check out is reported loudly, with exit
 * 2, and the state keeps the earlier head. Only a head that passed is remembered.
 */
async function verifyLog(haldir: Haldir, flags: VerifyFlags): Promise<number> {
  const state = treeHeadState(flags.stateFile ?? defaultStateFile())
  const log = flags.backend ? logIdentity({ backend: flags.backend, tenant: flags.tenant }) : logIdentity({ url: flags.url, key: flags.key as string })
  const [head, keys] = await Promise.all([haldir.getTreeHead(), haldir.getLedgerKeys()])
  const problems: string[] = []
  const signer = keys.find((key) => key.keyId === head.keyId)
  if (!signer || !verifyTreeHead(head, signer.publicKey)) problems.push(`the newest tree head (size ${head.treeSize}) is not signed by a key the server publishes (${head.keyId})`)
  const seen = state.seen(log)
  const earlier = seen?.head
  if (earlier) {
    if (head.treeSize < earlier.treeSize) {
      problems.push(`LOG SHRANK: this CLI saw a log of ${earlier.treeSize} entries (root ${earlier.rootHash}, ${seen.seenAt}); it now has ${head.treeSize}: entries were removed`)
    } else if (head.treeSize === earlier.treeSize) {
      if (head.rootHash !== earlier.rootHash) problems.push(`LOG FORKED: same size ${head.treeSize}, but the root changed from ${earlier.rootHash} to ${head.rootHash}: entries were rewritten`)
    } else if (earlier.treeSize > 0) {
      const proof = await haldir.getConsistencyProof(earlier.treeSize, head.treeSize).catch((error: unknown) => error)
      const consistent =
        !(proof instanceof Error) &&
        typeof proof === 'object' &&
        proof !== null &&
        verifyConsistency({ first: earlier.treeSize, second: head.treeSize, firstRoot: earlier.rootHash, secondRoot: head.rootHash, path: (proof as { path: string[] }).path })
      if (!consistent) {
        problems.push(
          `LOG FORKED: the log of ${head.treeSize} entries does not extend the head of ${earlier.treeSize} this CLI saw (${seen.seenAt}): entries were removed or rewritten${proof instanceof Error ? ` (${proof.message})` : ''}`,
        )
      }
    }
  }
  const full = flags.full ? await haldir.verifyLedger(earlier ? { earlierHead: earlier } : {}) : null
  if (full && !full.ok) for (const problem of full.problems) problems.push(`${problem.kind}: ${problem.message}`)
  const ok = problems.length === 0
  if (ok) state.remember(log, head)
  if (flags.json) {
    console.log(JSON.stringify({ ok, head, earlierHead: earlier ?? null, problems }, null, 2))
  } else {
    console.log(`tree head: ${head.treeSize} entries, root ${head.rootHash}, signed ${new Date(head.signedAt * 1000).toISOString()} by key ${head.keyId}`)
    if (!ok) for (const problem of problems) console.log(problem)
    else if (earlier) console.log(`ok: consistent with the last head this CLI saw (${earlier.treeSize} entries, ${seen?.seenAt})${full ? '; every leaf, chain and balance recomputed' : ''}`)
    else console.log(`ok: the first head this CLI sees for this log; kept to check the next one against${full ? '; every leaf, chain and balance recomputed' : ''}`)
  }
  if (!ok) console.error(`haldir: the audit log is NOT consistent with what this CLI saw before (${problems.length} problem${problems.length === 1 ? '' : 's'})`)
  return ok ? 0 : BROKEN
}

function verifyBundleFile(flags: VerifyFlags): number {
  if (flags.publicKey.length === 0) throw new ValidationError({ message: '--bundle needs --public-key KEY (the tree-head signing key you trust, from /.well-known/jwks.json)' })
  const publicKeys = flags.publicKey.map(hexPublicKey)
  const earlierHead = flags.earlierHead ? readHead(flags.earlierHead) : undefined
  const text = readText(flags.bundle as string, '--bundle')
  const result = verifyBundle(text, { publicKeys, ...(earlierHead ? { earlierHead } : {}) })
  if (flags.json) {
    console.log(JSON.stringify(result, null, 2))
  } else if (result.ok) {
    console.log(`ok: ${result.count} entries in the signed log of ${result.treeSize}${earlierHead ? `; it extends the earlier head of ${earlierHead.treeSize}` : ''}`)
  } else {
    console.log(`BROKEN: ${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${flags.bundle}`)
    for (const problem of result.problems) console.log(`  ${problem}`)
  }
  return result.ok ? 0 : BROKEN
}

/** A public key as 64 hex, or as the base64url `x` of a JWK. */
function hexPublicKey(text: string): string {
  const trimmed = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return trimmed.toLowerCase()
  if (/^[A-Za-z0-9_-]{43}$/.test(trimmed)) return Buffer.from(trimmed, 'base64url').toString('hex')
  throw new ValidationError({ message: `--public-key must be a raw Ed25519 public key: 64 hex characters, or the 43-character base64url 'x' of a JWK (got ${trimmed.length} characters)` })
}

function readText(file: string, flag: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    throw new ValidationError({ message: `${flag} ${file} cannot be read (${code === 'ENOENT' ? 'no such file' : (code ?? 'unreadable')})`, cause: error })
  }
}

/** A kept head: the head itself, a manifest line (`treeHead`), or `haldir verify --json` output (`head`). */
function readHead(file: string): TreeHead {
  let json: unknown
  try {
    json = JSON.parse(readText(file, '--earlier-head'))
  } catch (error) {
    if (ValidationError.isInstance(error)) throw error
    throw new ValidationError({ message: `--earlier-head ${file} is not JSON`, cause: error })
  }
  const record = json as { treeHead?: unknown; head?: unknown }
  const candidate = record?.treeHead ?? record?.head ?? json
  const parsed = treeHeadSchema.safeParse(candidate)
  if (!parsed.success) throw new ValidationError({ message: `--earlier-head ${file} holds no signed tree head (${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')})` })
  return parsed.data
}
