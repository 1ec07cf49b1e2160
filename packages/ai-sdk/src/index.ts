export { haldirToolApproval, type HaldirToolApprovalOptions } from './haldir-tool-approval.ts'
export { haldirModelMiddleware, meterModel, type MeterModelOptions } from './meter-model.ts'
export { withHaldir, type HaldirToolOptions, type HaldirToolSetOptions, type ToolCost } from './with-haldir.ts'
export { recordApprovalAnswers, type RecordApprovalAnswersOptions } from './record-approval-answers.ts'
