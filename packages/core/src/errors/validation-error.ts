import { HaldirError } from './haldir-error.ts'

const marker = 'haldir.error.validation'
const symbol = Symbol.for(marker)

export interface ValidationIssue {
  path: string
  message: string
}

/** Bad input: a wrong type, a negative or over-precise amount, an empty scope. Nothing was changed. */
export class ValidationError extends HaldirError {
  private readonly [symbol] = true
  readonly issues: ValidationIssue[]

  constructor({ message, issues = [], cause }: { message?: string; issues?: ValidationIssue[]; cause?: unknown }) {
    const summary = issues.map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message)).join('; ')
    super({ code: 'validation_error', message: message ?? `Invalid input: ${summary || 'unknown problem'}`, cause, data: { issues } })
    this.name = 'ValidationError'
    this.issues = issues
  }

  static override isInstance(error: unknown): error is ValidationError {
    return HaldirError.hasMarker(error, marker)
  }
}
