import { z } from 'zod'
import { redactDetails } from './audit/redact-details.ts'
import { ValidationError } from './errors/validation-error.ts'

/**
 * The zod schemas of the public API and of the backend contract. The HTTP server validates
 * request bodies with the same schemas, so a bad request is refused identically everywhere.
 */

// NUL never reaches a backend: PostgreSQL text cannot store it, and no id or name needs it.
const noNul = /^[^\u0000]*$/
export const idSchema = z.string().min(1, 'must not be empty').max(200).regex(noNul, 'must not contain NUL')
export const nameSchema = z.string().min(1, 'must not be empty').max(200).regex(noNul, 'must not contain NUL')
/** `read`, `db:write`, `db:*`, `*`: no whitespace, and `*` only as the last character. */
export const scopeSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(200)
  .regex(/^[^\s*]*\*?$/, "must have no whitespace, and '*' only at the end")
const plainJson = { keys: new Set<string>(), secretValues: new Set<string>() }
/** Free-form details and metadata, normalised to the plain JSON every backend can store and hash. */
export const detailsSchema = z.record(z.string(), z.unknown()).transform((details) => redactDetails(details, plainJson))
export const microsSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
export const outcomeSchema = z.enum(['ok', 'denied', 'error'])

export const createSessionOptionsSchema = z.object({
  agentId: idSchema,
  scopes: z.array(scopeSchema).max(1000).default([]),
  spendLimit: z.unknown().optional(),
  /** Seconds. */
  ttl: z.number().positive().finite().max(10 * 365 * 24 * 3600).default(3600),
  parentId: idSchema.nullable().optional(),
  metadata: detailsSchema.default({}),
})

export const paymentOptionsSchema = z.object({
  description: z.string().max(10_000).optional(),
  tool: nameSchema.default('payment'),
  scope: scopeSchema.nullable().optional(),
  idempotencyKey: idSchema.optional(),
  details: detailsSchema.default({}),
})

export const reserveOptionsSchema = z.object({
  tool: nameSchema.default('reserve'),
  scope: scopeSchema.nullable().optional(),
  idempotencyKey: idSchema.optional(),
  details: detailsSchema.default({}),
})

export const logActionSchema = z.object({
  tool: nameSchema,
  action: nameSchema.default('execute'),
  scope: scopeSchema.nullable().optional(),
  outcome: outcomeSchema.default('ok'),
  flagged: z.boolean().optional(),
  reason: z.string().max(10_000).nullable().optional(),
  costUsd: z.unknown().optional(),
  details: detailsSchema.default({}),
})

export const auditQuerySchema = z
  .object({
    sessionId: idSchema.optional(),
    agentId: idSchema.optional(),
    outcome: outcomeSchema.optional(),
    flagged: z.boolean().optional(),
    limit: z.number().int().positive().max(10_000).default(1000),
    offset: z.number().int().nonnegative().default(0),
  })
  .refine((query) => query.sessionId !== undefined || query.agentId !== undefined, { message: 'give a sessionId or an agentId' })

export const storeSecretOptionsSchema = z.object({ scopeRequired: scopeSchema.nullable().optional() })

// The backend contract's requests, without the tenant (the caller's identity supplies it).
export const backendRequestSchemas = {
  createSession: z.object({
    agentId: idSchema,
    scopes: z.array(scopeSchema).max(1000),
    limitMicros: microsSchema.nullable(),
    ttlMs: z.number().int().positive(),
    parentId: idSchema.nullable(),
    metadata: detailsSchema,
  }),
  session: z.object({ sessionId: idSchema }),
  authorize: z.object({
    sessionId: idSchema,
    mode: z.enum(['check', 'reserve', 'charge']),
    scope: scopeSchema.nullable(),
    tool: nameSchema,
    action: nameSchema,
    amountMicros: microsSchema,
    idempotencyKey: idSchema.nullable(),
    details: detailsSchema,
  }),
  settle: z.object({
    sessionId: idSchema,
    holdId: idSchema,
    amountMicros: microsSchema,
    outcome: outcomeSchema,
    action: nameSchema,
    flagged: z.boolean(),
    reason: z.string().max(10_000).nullable(),
    details: detailsSchema,
  }),
  appendAudit: z.object({
    sessionId: idSchema,
    tool: nameSchema,
    action: nameSchema,
    scope: scopeSchema.nullable(),
    outcome: outcomeSchema,
    flagged: z.boolean(),
    reason: z.string().max(10_000).nullable(),
    costMicros: microsSchema,
    details: detailsSchema,
  }),
  queryAudit: z.object({
    sessionId: idSchema.nullable(),
    agentId: idSchema.nullable(),
    outcome: outcomeSchema.nullable(),
    flagged: z.boolean().nullable(),
    limit: z.number().int().positive().max(10_000),
    offset: z.number().int().nonnegative(),
  }),
  revokeSession: z.object({ sessionId: idSchema, reason: z.string().max(10_000).nullable() }),
  putSecret: z.object({ name: nameSchema, value: z.string().max(1_000_000), scopeRequired: scopeSchema.nullable() }),
  readSecret: z.object({ sessionId: idSchema, name: nameSchema }),
  listSessions: z.object({ limit: z.number().int().positive().max(10_000) }),
} as const

/** Parses with a schema and turns a zod failure into a {@link ValidationError} with one issue per problem. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, input: unknown, path = ''): z.output<Schema> {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw new ValidationError({
    issues: result.error.issues.map((issue) => ({ path: [path, ...issue.path.map(String)].filter(Boolean).join('.'), message: issue.message })),
    cause: result.error,
  })
}
