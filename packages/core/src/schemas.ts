import { z } from 'zod'
import { redactDetails } from './audit/redact-details.ts'
import { ValidationError } from './errors/validation-error.ts'
import { unknownKeyMessage } from './internal/check-option-keys.ts'
import { isWellFormed, normalizeText } from './internal/well-formed-text.ts'

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
const plainJson = { keys: new Set<string>(), secretValues: new Set<string>() }
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

export const createSessionOptionsSchema = z.strictObject({
  agentId: idSchema,
  scopes: z.array(scopeSchema).max(1000).default([]),
  spendLimit: z.unknown().optional(),
  /** Seconds. */
  ttl: z.number().positive().finite().max(MAX_TTL_MS / 1000).default(3600),
  parentId: idSchema.nullable().optional(),
  metadata: detailsSchema.default({}),
})

export const paymentOptionsSchema = z.strictObject({
  description: textSchema.optional(),
  tool: nameSchema.default('payment'),
  scope: scopeSchema.nullable().optional(),
  idempotencyKey: idSchema.optional(),
  details: detailsSchema.default({}),
})

/** Seconds a hold may stay open before its lease ends (never past the session's expiry). */
export const holdTtlSchema = z.number().positive().finite().max(MAX_TTL_MS / 1000)

export const reserveOptionsSchema = z.strictObject({
  tool: nameSchema.default('reserve'),
  scope: scopeSchema.nullable().optional(),
  idempotencyKey: idSchema.optional(),
  holdTtl: holdTtlSchema.optional(),
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
export const backendRequestSchemas = {
  createSession: z.strictObject({
    agentId: idSchema,
    scopes: z.array(scopeSchema).max(1000),
    limitMicros: microsSchema.nullable(),
    ttlMs: z.number().int().positive().max(MAX_TTL_MS),
    parentId: idSchema.nullable(),
    metadata: detailsSchema,
  }),
  session: z.strictObject({ sessionId: idSchema }),
  authorize: z.strictObject({
    sessionId: idSchema,
    mode: z.enum(['check', 'reserve', 'charge']),
    scope: scopeSchema.nullable(),
    tool: nameSchema,
    action: nameSchema,
    amountMicros: microsSchema,
    idempotencyKey: idSchema.nullable(),
    holdTtlMs: z.number().int().positive().max(MAX_TTL_MS).nullable().default(null),
    details: detailsSchema,
  }),
  settle: z.strictObject({
    sessionId: idSchema,
    holdId: idSchema,
    amountMicros: microsSchema,
    outcome: outcomeSchema,
    action: nameSchema,
    flagged: z.boolean(),
    reason: textSchema.nullable(),
    details: detailsSchema,
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

/** The keys the object schema at `path` takes (through optional, nullable, default and refine wrappers). */
function objectKeysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema
  const unwrap = () => {
    for (let guard = 0; guard < 10; guard++) {
      const def = (current as { _zod?: { def?: { innerType?: unknown; in?: unknown; schema?: unknown } } })._zod?.def
      const inner = def?.innerType ?? def?.in ?? def?.schema
      if (!inner) return
      current = inner
    }
  }
  unwrap()
  for (const segment of path) {
    current = (current as { shape?: Record<string, unknown> }).shape?.[String(segment)]
    unwrap()
  }
  return Object.keys((current as { shape?: Record<string, unknown> } | undefined)?.shape ?? {})
}
