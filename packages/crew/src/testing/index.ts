export { scriptedModel, type ScriptedModelOptions, type ScriptedTurn } from './scripted-model.ts'
