import * as z from 'zod'
import { fixedRedactKeys, redactDetails } from './audit/redact-details.ts'
import { ValidationError } from './errors/validation-error.ts'
import { unknownKeyMessage } from './internal/check-option-keys.ts'
import { isWellFormed, normalizeText } from './internal/well-formed-text.ts'
import { MAX_AUTHORIZE_BATCH, MAX_SETTLE_BATCH } from './backend/haldir-backend.ts'

/**
 * The zod schemas of the public API and of the backend contract. The HTTP server validates
 * request bodies with the same schemas, so a bad request is refused identically everywhere.
 */

// NUL never reaches a backend (PostgreSQL text cannot store it) and neither does a lone
// surrogate (UTF-8 cannot carry it, so a database would store something other than what was
// hashed): identifiers with either are refused, free text is normalised (`normalizeText`).
const noNul = /^[^\u0000]*$/
const wellFormed = (schema: z.ZodString) => schema.regex(noNul, 'must not contain NUL').refine(isWellFormed, 'must be well-formed Unicode (no lone surrogates)')
export const idSchema = wellFormed(z.string().min(1, 'must not be empty').max(200))
export const nameSchema = wellFormed(z.string().min(1, 'must not be empty').max(200))
/** `read`, `db:write`, `db:*`, `*`: no whitespace, and `*` only as the last character. */
export const scopeSchema = wellFormed(
  z
    .string()
    .min(1, 'must not be empty')
    .max(200)
    .regex(/^[^\s*]*\*?$/, "must have no whitespace, and '*' only at the end"),
)
/** Free text (a reason, a description): stored as every backend keeps it. */
export const textSchema = z.string().max(10_000).transform(normalizeText)
/** The longest a session or a hold may live: ten years. */
export const MAX_TTL_MS = 10 * 365 * 24 * 3600 * 1000
/** The shortest secret the vault keeps: shorter values could not be masked out of audit trails without blanking ordinary words. */
export const MIN_SECRET_LENGTH = 4
const plainJson = { keys: fixedRedactKeys([]), secretValues: new Set<string>() }
/** Free-form details and metadata, normalised to the plain JSON every backend can store and hash. */
export const detailsSchema = z.record(z.string(), z.unknown()).transform((details) => redactDetails(details, plainJson))
export const microsSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const hex = (length: number) => z.string().regex(new RegExp(`^[0-9a-f]{${length}}$`), `must be ${length} lowercase hex characters`)
/** A signed tree head as a verifier keeps it. */
export const treeHeadSchema = z.strictObject({
  treeSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  rootHash: hex(64),
  signedAt: z.number().int().nonnegative(),
  signature: hex(128),
  algorithm: z.literal('Ed25519-over-canonical-sth'),
  publicKey: hex(64),
  keyId: hex(16),
})
export const outcomeSchema = z.enum(['ok', 'denied', 'error'])

// Approvals. A rule carries what it matches and how long a person has; the user API speaks USD
// and seconds, the backend contract micro-dollars and milliseconds (converted exactly at the edge).
export const approvalStatusSchema = z.enum(['pending', 'approved', 'denied', 'expired'])
export const approvalTimeoutActionSchema = z.enum(['deny', 'approve'])
/** Seconds a person has to decide: at least one, at most a week (money stays held meanwhile). */
export const approvalTimeoutSchema = z.number().positive().finite().min(1).max(7 * 24 * 3600)
const ruleOptions = {
  reason: textSchema.pipe(z.string().min(1).max(1000)).optional(),
  timeout: approvalTimeoutSchema.optional(),
  onTimeout: approvalTimeoutActionSchema.optional(),
}
const verbSchema = z.string().regex(/^[a-z0-9]+$/, 'must be one lowercase word (letters and digits)').max(100)
/** An approval rule as users write it. */
export const approvalRuleSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all'), ...ruleOptions }),
  z.strictObject({ kind: z.literal('spend_over'), thresholdUsd: z.number().nonnegative().finite(), ...ruleOptions }),
  z.strictObject({ kind: z.literal('tool'), tools: z.array(nameSchema).min(1).max(1000), ...ruleOptions }),
  z.strictObject({ kind: z.literal('scope'), scopes: z.array(scopeSchema).min(1).max(1000), ...ruleOptions }),
  z.strictObject({ kind: z.literal('destructive'), verbs: z.array(verbSchema).min(1).max(100).optional(), ...ruleOptions }),
])
const recordRuleOptions = {
  reason: textSchema.pipe(z.string().min(1).max(1000)).nullable(),
  timeoutMs: z.number().int().min(1000).max(7 * 24 * 3600 * 1000).nullable(),
  onTimeout: approvalTimeoutActionSchema.nullable(),
}
/** An approval rule as the backend contract carries it. */
export const approvalRuleInputSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('all'), ...recordRuleOptions }),
  z.strictObject({ kind: z.literal('spend_over'), thresholdMicros: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), ...recordRuleOptions }),
  z.strictObject({ kind: z.literal('tool'), tools: z.array(nameSchema).min(1).max(1000), ...recordRuleOptions }),
  z.strictObject({ kind: z.literal('scope'), scopes: z.array(scopeSchema).min(1).max(1000), ...recordRuleOptions }),
  z.strictObject({ kind: z.literal('destructive'), verbs: z.array(verbSchema).min(1).max(100).nullable(), ...recordRuleOptions }),
])
// Controls of a session: budget windows, rate limits, call caps, active hours, alert thresholds.
const usdAmount = z.number().nonnegative().finite()
const timeZoneSchema = z
  .string()
  .min(1)
  .max(100)
  .refine((zone) => {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone })
      return true
    } catch {
      return false
    }
  }, 'must be an IANA time zone such as UTC or Europe/Berlin')
const clockTime = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'must be HH:MM (00:00 to 23:59)')
/** A budget window as users write it: a calendar period in a zone, or the last N seconds. */
export const budgetWindowSchema = z.union([
  z.strictObject({ period: z.enum(['hour', 'day', 'week', 'month']), limit: usdAmount, timeZone: timeZoneSchema.default('UTC') }),
  z.strictObject({ rolling: z.number().finite().min(1).max(366 * 24 * 3600), limit: usdAmount }),
])
export const rateLimitSchema = z.strictObject({
  calls: z.number().int().positive().max(1_000_000_000),
  /** Seconds. */
  per: z.number().finite().min(1).max(31 * 24 * 3600),
  tool: nameSchema.optional(),
  scope: scopeSchema.optional(),
})
export const callCapSchema = z.strictObject({ tool: nameSchema, max: z.number().int().nonnegative().max(1_000_000_000) })
export const activeHoursSchema = z
  .strictObject({ start: clockTime, end: clockTime, timeZone: timeZoneSchema.default('UTC') })
  .refine((hours) => hours.start !== hours.end, { message: 'start and end must differ (leave activeHours out for all day)' })
export const alertThresholdsSchema = z
  .array(z.number().gt(0, 'a threshold is a fraction above 0').max(1, 'a threshold is a fraction up to 1'))
  .max(20)
  .refine((values) => new Set(values).size === values.length, 'thresholds must differ')
/** At most this many windows, rate limits or call caps per session: every call reads them. */
export const MAX_CONTROLS = 20
const controlsInputSchema = z.strictObject({
  windows: z
    .array(
      z.union([
        z.strictObject({ kind: z.literal('calendar'), period: z.enum(['hour', 'day', 'week', 'month']), timeZone: timeZoneSchema, limitMicros: microsSchema }),
        z.strictObject({ kind: z.literal('rolling'), durationMs: z.number().int().min(1000).max(366 * 24 * 3600 * 1000), limitMicros: microsSchema }),
      ]),
    )
    .max(MAX_CONTROLS),
  rateLimits: z
    .array(z.strictObject({ calls: z.number().int().positive().max(1_000_000_000), perMs: z.number().int().min(1000).max(31 * 24 * 3600 * 1000), tool: nameSchema.nullable(), scope: scopeSchema.nullable() }))
    .max(MAX_CONTROLS),
  callCaps: z.array(z.strictObject({ tool: nameSchema, max: z.number().int().nonnegative().max(1_000_000_000) })).max(MAX_CONTROLS),
  activeHours: z.strictObject({ start: clockTime, end: clockTime, timeZone: timeZoneSchema }).nullable(),
  thresholds: alertThresholdsSchema,
})

/** At most this many rules per session and per tenant: every call reads them. */
export const MAX_APPROVAL_RULES = 100
/** What a caller's code demands (`requireApproval`): `true`, a reason, or the options of a rule. */
export const requireApprovalSchema = z.union([
  z.literal(true),
  textSchema.pipe(z.string().min(1).max(1000)),
  z.strictObject(ruleOptions),
])
const approvalDemandSchema = z.strictObject({
  reason: textSchema.pipe(z.string().min(1).max(1000)),
  timeoutMs: z.number().int().min(1000).max(7 * 24 * 3600 * 1000).nullable(),
  onTimeout: approvalTimeoutActionSchema.nullable(),
})
export const decideApprovalOptionsSchema = z.strictObject({ by: idSchema, note: textSchema.pipe(z.string().max(2000)).optional() })
export const listApprovalsOptionsSchema = z.strictObject({
  status: approvalStatusSchema.optional(),
  sessionId: idSchema.optional(),
  limit: z.number().int().positive().max(10_000).default(100),
})
export const waitForApprovalOptionsSchema = z.strictObject({
  /** Seconds to wait at most; omitted: until the approval is decided or times out. */
  timeout: z.number().positive().finite().optional(),
  signal: z.custom<AbortSignal>((value) => typeof AbortSignal !== 'undefined' && value instanceof AbortSignal, 'must be an AbortSignal').optional(),
  /** Seconds between looks when the backend delivers no events. @default 0.5 */
  pollInterval: z.number().positive().finite().max(60).optional(),
})

export const createSessionOptionsSchema = z.strictObject({
  agentId: idSchema,
  scopes: z.array(scopeSchema).max(1000).default([]),
  spendLimit: z.unknown().optional(),
  /** Seconds. */
  ttl: z.number().positive().finite().max(MAX_TTL_MS / 1000).default(3600),
  parentId: idSchema.nullable().optional(),
  metadata: detailsSchema.default({}),
  approvalRules: z.array(approvalRuleSchema).max(MAX_APPROVAL_RULES).default([]),
  windows: z.array(budgetWindowSchema).max(MAX_CONTROLS).default([]),
  rateLimits: z.array(rateLimitSchema).max(MAX_CONTROLS).default([]),
  callCaps: z.array(callCapSchema).max(MAX_CONTROLS).default([]),
  activeHours: activeHoursSchema.optional(),
  alerts: alertThresholdsSchema.default([]),
})

export const paymentOptionsSchema = z.strictObject({
  description: textSchema.optional(),
  tool: nameSchema.default('payment'),
  scope: scopeSchema.nullable().optional(),
  idempotencyKey: idSchema.optional(),
  requireApproval: requireApprovalSchema.optional(),
  approvalId: idSchema.optional(),
  details: detailsSchema.default({}),
})

/** Seconds a hold may stay open before its lease ends (never past the session's expiry). */
export const holdTtlSchema = z.number().positive().finite().max(MAX_TTL_MS / 1000)

export const reserveOptionsSchema = z.strictObject({
  tool: nameSchema.default('reserve'),
  scope: scopeSchema.nullable().optional(),
  idempotencyKey: idSchema.optional(),
  holdTtl: holdTtlSchema.optional(),
  requireApproval: requireApprovalSchema.optional(),
  approvalId: idSchema.optional(),
  details: detailsSchema.default({}),
})

export const gateOptionsSchema = z.strictObject({
  sessionId: z.unknown(),
  scope: z.unknown().optional(),
  tool: z.unknown(),
  action: nameSchema.optional(),
  maxCostUsd: z.unknown().optional(),
  idempotencyKey: z.unknown().optional(),
  holdTtl: holdTtlSchema.optional(),
  requireApproval: requireApprovalSchema.optional(),
  approvalId: idSchema.optional(),
  details: z.unknown().optional(),
})

export const settleOptionsSchema = z.strictObject({
  action: nameSchema.optional(),
  details: z.unknown().optional(),
  flagged: z.boolean().optional(),
  reason: textSchema.optional(),
})

export const releaseOptionsSchema = z.strictObject({
  error: z.unknown().optional(),
  action: nameSchema.optional(),
  reason: textSchema.optional(),
  details: z.unknown().optional(),
})

export const checkPermissionOptionsSchema = z.strictObject({ tool: nameSchema.optional(), details: z.unknown().optional() })
export const revokeOptionsSchema = z.strictObject({ reason: textSchema.optional() })
export const consistencyProofSchema = z.strictObject({ first: z.number().int().positive(), second: z.number().int().positive() })
export const treeHeadsOptionsSchema = z.strictObject({ sinceSize: z.number().int().nonnegative().default(0), limit: z.number().int().positive().max(10_000).default(1000) })
export const inclusionProofOptionsSchema = z.strictObject({ treeSize: z.number().int().positive().optional() })
export const readLedgerOptionsSchema = z.strictObject({ from: z.number().int().nonnegative().default(0), limit: z.number().int().positive().max(10_000).default(1000) })
export const verifyLedgerOptionsSchema = z.strictObject({ earlierHead: treeHeadSchema.optional() })
export const listHoldsOptionsSchema = z.strictObject({ sessionId: idSchema.optional(), limit: z.number().int().positive().max(10_000).default(1000) })

export const logActionSchema = z.strictObject({
  tool: nameSchema,
  action: nameSchema.default('execute'),
  scope: scopeSchema.nullable().optional(),
  outcome: outcomeSchema.default('ok'),
  flagged: z.boolean().optional(),
  reason: textSchema.nullable().optional(),
  costUsd: z.unknown().optional(),
  details: detailsSchema.default({}),
})

export const auditQuerySchema = z
  .strictObject({
    sessionId: idSchema.optional(),
    agentId: idSchema.optional(),
    outcome: outcomeSchema.optional(),
    flagged: z.boolean().optional(),
    limit: z.number().int().positive().max(10_000).default(1000),
    offset: z.number().int().nonnegative().default(0),
  })
  .refine((query) => query.sessionId !== undefined || query.agentId !== undefined, { message: 'give a sessionId or an agentId' })

export const storeSecretOptionsSchema = z.strictObject({ scopeRequired: scopeSchema.nullable().optional() })
export const secretValueSchema = wellFormed(
  z.string().min(MIN_SECRET_LENGTH, `must be at least ${MIN_SECRET_LENGTH} characters: shorter values cannot be masked out of audit trails`).max(1_000_000),
)

// The backend contract's requests, without the tenant (the caller's identity supplies it).
const AUTHORIZE_ITEM = z.strictObject({
  sessionId: idSchema,
  mode: z.enum(['check', 'reserve', 'charge']),
  scope: scopeSchema.nullable(),
  tool: nameSchema,
  action: nameSchema,
  amountMicros: microsSchema,
  idempotencyKey: idSchema.nullable(),
  holdTtlMs: z.number().int().positive().max(MAX_TTL_MS).nullable().default(null),
  approval: approvalDemandSchema.nullable().default(null),
  approvalId: idSchema.nullable().default(null),
  details: detailsSchema,
})

const SETTLE_ITEM = z.strictObject({
  sessionId: idSchema,
  holdId: idSchema,
  amountMicros: microsSchema,
  outcome: outcomeSchema,
  action: nameSchema,
  flagged: z.boolean(),
  reason: textSchema.nullable(),
  details: detailsSchema,
  })

export const backendRequestSchemas = {
  createSession: z.strictObject({
    agentId: idSchema,
    scopes: z.array(scopeSchema).max(1000),
    limitMicros: microsSchema.nullable(),
    ttlMs: z.number().int().positive().max(MAX_TTL_MS),
    parentId: idSchema.nullable(),
    metadata: detailsSchema,
    approvalRules: z.array(approvalRuleInputSchema).max(MAX_APPROVAL_RULES).default([]),
    controls: controlsInputSchema.nullable().default(null),
  }),
  session: z.strictObject({ sessionId: idSchema }),
  authorize: AUTHORIZE_ITEM,
  // Concurrent callers' gates, sent together by a client; each counts against the key's rate limit.
  authorizeMany: z.strictObject({
    authorizations: z.array(AUTHORIZE_ITEM).min(1).max(MAX_AUTHORIZE_BATCH),
  }),
  settle: SETTLE_ITEM,
  // A client's batch of completed calls; the server's body limit bounds it too.
  settleMany: z.strictObject({
    settles: z.array(SETTLE_ITEM).min(1).max(MAX_SETTLE_BATCH),
  }),
  appendAudit: z.strictObject({
    sessionId: idSchema,
    // '' for an entry logged without a tool (what the Haldir API's `POST /v1/audit` defaults to).
    tool: z.union([z.literal(''), nameSchema]),
    action: nameSchema,
    scope: scopeSchema.nullable(),
    outcome: outcomeSchema,
    flagged: z.boolean(),
    reason: textSchema.nullable(),
    costMicros: microsSchema,
    details: detailsSchema,
  }),
  queryAudit: z.strictObject({
    sessionId: idSchema.nullable(),
    agentId: idSchema.nullable(),
    outcome: outcomeSchema.nullable(),
    flagged: z.boolean().nullable(),
    limit: z.number().int().positive().max(10_000),
    offset: z.number().int().nonnegative(),
  }),
  revokeSession: z.strictObject({ sessionId: idSchema, reason: textSchema.nullable() }),
  putSecret: z.strictObject({ name: nameSchema, value: secretValueSchema, scopeRequired: scopeSchema.nullable() }),
  readSecret: z.strictObject({ sessionId: idSchema, name: nameSchema }),
  deleteSecret: z.strictObject({ name: nameSchema }),
  listSessions: z.strictObject({ limit: z.number().int().positive().max(10_000) }),
  listHolds: z.strictObject({ sessionId: idSchema.nullable(), limit: z.number().int().positive().max(10_000) }),
  releaseHold: z.strictObject({ holdId: idSchema, reason: textSchema.nullable() }),
  sweepHolds: z.strictObject({ limit: z.number().int().positive().max(10_000) }),
  tenant: z.strictObject({}),
  inclusionProof: z.strictObject({ entryId: idSchema, treeSize: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).nullable().default(null) }),
  consistencyProof: z.strictObject({ first: z.number().int().positive().max(Number.MAX_SAFE_INTEGER), second: z.number().int().positive().max(Number.MAX_SAFE_INTEGER) }),
  treeHeads: z.strictObject({ sinceSize: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), limit: z.number().int().positive().max(10_000) }),
  ledgerPage: z.strictObject({ from: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), limit: z.number().int().positive().max(10_000) }),
  verifyLedger: z.strictObject({ earlierHead: treeHeadSchema.nullable() }),
  approval: z.strictObject({ approvalId: idSchema }),
  listApprovals: z.strictObject({ status: approvalStatusSchema.nullable(), sessionId: idSchema.nullable(), limit: z.number().int().positive().max(10_000) }),
  decideApproval: z.strictObject({ approvalId: idSchema, decision: z.enum(['approve', 'deny']), decidedBy: idSchema, note: textSchema.pipe(z.string().max(2000)).nullable() }),
  addApprovalRule: z.strictObject({ rule: approvalRuleInputSchema }),
  removeApprovalRule: z.strictObject({ ruleId: idSchema }),
} as const

/**
 * Parses with a schema and turns a zod failure into a {@link ValidationError} with one issue per
 * problem; an unknown key (objects are strict) names the key and the closest valid one.
 */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown, path = ''): z.output<Schema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  const issues = result.error.issues.flatMap((issue) => {
    const at = [path, ...issue.path.map(String)].filter(Boolean)
    if (issue.code !== 'unrecognized_keys') return [{ path: at.join('.'), message: issue.message }]
    const allowed = objectKeysAt(schema, issue.path)
    return issue.keys.map((key) => ({ path: [...at, key].join('.'), message: unknownKeyMessage(key, allowed) }))
  })
  throw new ValidationError({ issues, cause: result.error })
}

/**
 * `parseInput` for the options object of a call on every governed call's path: an object whose
 * own keys are all `passthrough` keys (those the schema takes as they are, `z.unknown()`) is
 * returned as it is, since the schema would return the same; anything else is parsed, and
 * refused with the same errors.
 */
export function parseOptions<Schema extends z.ZodType>(schema: Schema, input: unknown, path: string, passthrough: ReadonlySet<string>): z.output<Schema> {
  if (typeof input === 'object' && input !== null && Object.getPrototypeOf(input) === Object.prototype) {
    let known = true
    for (const key in input) {
      if (!passthrough.has(key)) {
        known = false
        break
      }
    }
    if (known) return input as z.output<Schema>
  }
  return parseInput(schema, input, path)
}

/** The keys the object schema at `path` takes (through optional, nullable, default, refine, array and union wrappers). */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  type Def = { innerType?: unknown; in?: unknown; schema?: unknown; element?: unknown; options?: unknown[] }
  const defOf = (node: unknown) => (node as { _zod?: { def?: Def } } | undefined)?._zod?.def
  // Every object schema reachable from `node` without stepping into a key: a union gives several.
  const objects = (node: unknown, depth = 0): unknown[] => {
    if (node === undefined || depth > 10) return []
    const def = defOf(node)
    if (def?.options) return def.options.flatMap((option) => objects(option, depth + 1))
    const inner = def?.innerType ?? def?.in ?? def?.schema
    if (inner) return objects(inner, depth + 1)
    return [node]
  }
  let current = objects(schema)
  for (const segment of path) {
    current = current.flatMap((node) => {
      const element = defOf(node)?.element
      if (element !== undefined && typeof segment === 'number') return objects(element)
      return objects((node as { shape?: Record<string, unknown> }).shape?.[String(segment)])
    })
  }
  return [...new Set(current.flatMap((node) => Object.keys((node as { shape?: Record<string, unknown> }).shape ?? {})))]
}
