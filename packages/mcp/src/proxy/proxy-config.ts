import { usdToMicros, ValidationError } from '@haldir/core'
import { activeHoursSchema, alertThresholdsSchema, approvalRuleSchema, budgetWindowSchema, callCapSchema, idSchema, MAX_APPROVAL_RULES, MAX_CONTROLS, rateLimitSchema, scopeSchema } from '@haldir/core/backend'
import { z } from 'zod'
import { closestName } from '../internal/closest-name.ts'

const usd = z.number().refine(
  (value) => {
    try {
      usdToMicros(value)
      return true
    } catch {
      return false
    }
  },
  { message: 'must be a USD amount: finite, not below 0, at most 6 decimals' },
)

const argumentCostSchema = z.strictObject({
  argument: z.string().regex(/^[^.]+(\.[^.]+)*$/, "must be an argument name or a dotted path such as 'order.total'"),
  multiplier: usd.optional(),
})

const costSchema = z.union([usd, argumentCostSchema], { error: 'must be a number of USD or { "argument": "<name>", "multiplier"?: <USD per unit> }' })

const upstreamNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, _ or -, starting with a letter or digit')
  .refine((name) => !name.includes('__'), "must not contain '__' (it separates upstream and tool in namespaced names)")

const timeoutSchema = z.number().int().min(1).max(3_600_000)

const upstreamSchema = z
  .strictObject({
    /** A local server: the executable to spawn (stdio). */
    command: z.string().min(1).optional(),
    args: z.array(z.string()).optional(),
    /** Added to a minimal inherited environment (PATH, HOME …), as the SDK's stdio client does. */
    env: z.record(z.string(), z.string()).optional(),
    cwd: z.string().min(1).optional(),
    /** A remote server: its Streamable HTTP endpoint. */
    url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' }).optional(),
    headers: z.record(z.string(), z.string()).optional(),
    timeoutMs: timeoutSchema.optional(),
    /** Pass the upstream's resources through, read-only. */
    resources: z.boolean().default(false),
    /** Pass the upstream's prompts through. */
    prompts: z.boolean().default(false),
  })
  .superRefine((upstream, context) => {
    if ((upstream.command === undefined) === (upstream.url === undefined)) {
      context.addIssue({ code: 'custom', message: 'needs exactly one of "command" (a local server over stdio) or "url" (Streamable HTTP)' })
    }
    for (const key of ['args', 'env', 'cwd'] as const) {
      if (upstream[key] !== undefined && upstream.command === undefined) context.addIssue({ code: 'custom', path: [key], message: 'applies to a "command" upstream only' })
    }
    if (upstream.headers !== undefined && upstream.url === undefined) context.addIssue({ code: 'custom', path: ['headers'], message: 'applies to a "url" upstream only' })
  })

const createSessionSchema = z.strictObject({
  agentId: idSchema,
  scopes: z.array(scopeSchema).max(1000).default([]),
  spendLimit: usd.nullable().optional(),
  /** Seconds. */
  ttl: z.number().positive().max(10 * 365 * 24 * 3600).optional(),
  parentId: idSchema.optional(),
  metadata: z.record(z.string(), z.unknown()).optional(),
  // Upstream's proxy policies, as session controls: `rate_limit` → rateLimits, `time_window` →
  // activeHours, `spend_limit` per call → a tool's maxCost; and approvals, budgets that reset.
  windows: z.array(budgetWindowSchema).max(MAX_CONTROLS).optional(),
  rateLimits: z.array(rateLimitSchema).max(MAX_CONTROLS).optional(),
  callCaps: z.array(callCapSchema).max(MAX_CONTROLS).optional(),
  activeHours: activeHoursSchema.optional(),
  alerts: alertThresholdsSchema.optional(),
  approvalRules: z.array(approvalRuleSchema).max(MAX_APPROVAL_RULES).optional(),
})

const exactlyOne =
  (keys: readonly string[]) =>
  (value: Record<string, unknown>, context: z.RefinementCtx): void => {
    const given = keys.filter((key) => value[key] !== undefined)
    if (given.length !== 1) {
      context.addIssue({ code: 'custom', message: `needs exactly one of ${keys.map((key) => `"${key}"`).join(', ')}${given.length > 1 ? `, got ${given.map((key) => `"${key}"`).join(' and ')}` : ''}` })
    }
  }

const boundSessionSchema = z
  .strictObject({
    /** An existing session, used by every connection. */
    id: idSchema.optional(),
    /** A new session per connection, with these options. */
    create: createSessionSchema.optional(),
  })
  .superRefine(exactlyOne(['id', 'create']))

const apiKeySchema = z
  .strictObject({
    /** The key in plain text (prefer keyHash). */
    key: z.string().min(16, 'must be at least 16 characters').optional(),
    /** `sha256:<64 hex>` of the key, as `haldir keys create` prints. */
    keyHash: z
      .string()
      .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lower-case hex>')
      .optional(),
    session: boundSessionSchema,
  })
  .superRefine(exactlyOne(['key', 'keyHash']))

const sessionSchema = z
  .strictObject({
    id: idSchema.optional(),
    create: createSessionSchema.optional(),
    /** HTTP only: the client names its session in this request header. */
    header: z
      .string()
      .regex(/^[A-Za-z0-9-]+$/, 'must be an HTTP header name')
      .transform((name) => name.toLowerCase())
      .optional(),
    /** HTTP only: `Authorization: Bearer <key>` picks the session. */
    apiKeys: z.array(apiKeySchema).min(1).optional(),
  })
  .superRefine(exactlyOne(['id', 'create', 'header', 'apiKeys']))

const backendUrlSchema = z
  .string()
  .refine((value) => value === 'memory' || /^(postgres(ql)?|https?):\/\//.test(value), "must be 'memory', a postgres:// URL or the http(s):// URL of a haldir server")

const backendSchema = z.union(
  [
    backendUrlSchema,
    z.strictObject({
      url: backendUrlSchema,
      /** The haldir server's API key. @default process.env.HALDIR_API_KEY */
      apiKey: z.string().min(1).optional(),
      /** The tenant (memory and PostgreSQL; a server's API key decides it there). @default 'default' */
      tenant: idSchema.optional(),
    }),
  ],
  { error: "must be 'memory', a postgres:// or http(s):// URL, or { \"url\", \"apiKey\"?, \"tenant\"? }" },
)

const httpSchema = z.strictObject({
  port: z.number().int().min(0).max(65_535).optional(),
  /** @default '127.0.0.1' */
  host: z.string().min(1).optional(),
  /** @default '/mcp' */
  path: z
    .string()
    .regex(/^\/[^\s?#]*$/, "must start with '/'")
    .optional(),
  /** Browser origins allowed to call (a request with another Origin header is refused). @default [] */
  allowedOrigins: z.array(z.string()).optional(),
  /** An MCP session idle this long is closed. @default 1_800_000 (30 minutes) */
  sessionIdleMs: timeoutSchema.optional(),
  /** Answer POSTs with plain JSON (lower latency); `false`: an SSE stream per call, relaying upstream progress. @default true */
  jsonResponse: z.boolean().optional(),
})

/** The proxy configuration file, as validated: every key known, every amount exact. */
export const proxyConfigSchema = z
  .strictObject({
    $schema: z.string().optional(),
    upstreams: z.record(upstreamNameSchema, upstreamSchema).refine((upstreams) => Object.keys(upstreams).length > 0, 'needs at least one upstream'),
    scope: scopeSchema.nullable().optional(),
    scopes: z.record(z.string().min(1), scopeSchema.nullable()).optional(),
    cost: costSchema.optional(),
    costs: z.record(z.string().min(1), costSchema).optional(),
    maxCost: usd.optional(),
    maxCosts: z.record(z.string().min(1), usd).optional(),
    /** `'onClash'`: a tool keeps its name unless two upstreams offer it; `'always'`: every tool is `upstream__tool`. */
    namespace: z.enum(['onClash', 'always']).default('onClash'),
    session: sessionSchema.optional(),
    backend: backendSchema.default('memory'),
    timeoutMs: timeoutSchema.default(60_000),
    recordInput: z.boolean().default(true),
    http: httpSchema.optional(),
  })

/** The proxy configuration file's contents. */
export type ProxyConfigInput = z.input<typeof proxyConfigSchema>
/** The proxy configuration with its defaults applied. */
export type ProxyConfig = z.output<typeof proxyConfigSchema>
export type UpstreamConfig = ProxyConfig['upstreams'][string]
export type SessionConfig = NonNullable<ProxyConfig['session']>
export type BoundSessionConfig = z.output<typeof boundSessionSchema>
export type BackendConfig = ProxyConfig['backend']

/**
 * Validates a proxy configuration (the parsed JSON of the file). Every problem is reported at
 * once, by path; an unknown key is named with the closest valid one.
 *
 * @throws ValidationError listing every issue, e.g. `upstreams.pay: unknown key 'comand' (did you mean 'command'?)`
 */
export function parseProxyConfig(input: unknown, source = 'configuration'): ProxyConfig {
  const result = proxyConfigSchema.safeParse(input)
  if (result.success) return result.data
  const issues = result.error.issues.flatMap((issue) => describeIssue(issue))
  throw new ValidationError({
    message: `Invalid proxy ${source}: ${issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ')}`,
    issues,
    cause: result.error,
  })
}

function describeIssue(issue: z.core.$ZodIssue): { path: string; message: string }[] {
  const path = issue.path.map(String).join('.')
  if (issue.code === 'unrecognized_keys') {
    const known = keysAt(proxyConfigSchema, issue.path)
    return issue.keys.map((key) => {
      const suggestion = closestName(key, known)
      const hint = suggestion ? ` (did you mean '${suggestion}'?)` : known.length > 0 ? ` (expected one of: ${known.join(', ')})` : ''
      return { path, message: `unknown key '${key}'${hint}` }
    })
  }
  // zod keeps no input on issues: a missing value is the type error that received undefined.
  if (issue.code === 'invalid_type' && / received undefined$/.test(issue.message)) return [{ path, message: 'is required' }]
  if (issue.code === 'invalid_type') return [{ path, message: `must be ${article(issue.expected)}${issue.message.replace(/^.*(, received .*)$/, '$1')}` }]
  if (issue.code === 'invalid_key') return issue.issues.map((inner) => ({ path, message: `is not a valid name: ${inner.message}` }))
  return [{ path, message: issue.message }]
}

/** The keys an object schema accepts at a path of the input (unions contribute every branch's keys). */
function keysAt(schema: z.core.$ZodType, path: readonly PropertyKey[]): string[] {
  let candidates: z.core.$ZodType[] = [schema]
  for (const segment of [...path, null]) {
    const next: z.core.$ZodType[] = []
    for (const candidate of candidates.flatMap(unwrap)) {
      const def = candidate._zod.def as unknown as Record<string, unknown> & { type: string }
      if (segment === null) {
        if (def.type === 'object') next.push(candidate)
      } else if (def.type === 'object') {
        const field = (def.shape as Record<string, z.core.$ZodType>)[String(segment)]
        if (field) next.push(field)
      } else if (def.type === 'record') next.push(def.valueType as z.core.$ZodType)
      else if (def.type === 'array') next.push(def.element as z.core.$ZodType)
    }
    candidates = next
  }
  return [...new Set(candidates.flatMap((candidate) => Object.keys((candidate._zod.def as unknown as { shape: object }).shape)))].filter((key) => key !== '$schema')
}

/** The schemas a wrapper stands for: optional, default, nullable and pipes lead to their inner type; unions to each branch. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string }
  if (def.type === 'optional' || def.type === 'default' || def.type === 'nullable' || def.type === 'prefault') return unwrap(def.innerType as z.core.$ZodType)
  if (def.type === 'pipe') return unwrap(def.in as z.core.$ZodType)
  if (def.type === 'union') return (def.options as z.core.$ZodType[]).flatMap(unwrap)
  return [schema]
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`
}
