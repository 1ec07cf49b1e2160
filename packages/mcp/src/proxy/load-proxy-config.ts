import { readFile } from 'node:fs/promises'
import { ValidationError } from '@haldir/core'
import { parseProxyConfig, type ProxyConfig } from './proxy-config.ts'

/**
 * Reads and validates a proxy configuration file (JSON).
 *
 * @throws ValidationError for an unreadable file, malformed JSON (with its position), or an invalid configuration
 */
export async function loadProxyConfig(file: string): Promise<ProxyConfig> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new ValidationError({ message: `Cannot read the proxy configuration ${file}: ${error instanceof Error ? error.message : String(error)}`, issues: [{ path: 'config', message: 'cannot be read' }], cause: error })
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new ValidationError({ message: `The proxy configuration ${file} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, issues: [{ path: 'config', message: 'is not valid JSON' }], cause: error })
  }
  return parseProxyConfig(json, `configuration ${file}`)
}
