// Patches @cloud-copilot/iam-simulate 0.1.173 (the pinned version) so that context keys
// whose variable part follows a colon are evaluated: `kms:EncryptionContext:aws:s3:arn`
// is the key of `kms:EncryptionContext:${EncryptionContextKey}`. Version 0.1.173 only
// recognises `/`-style variable keys (`aws:PrincipalTag/${TagKey}`): it drops the
// request's `kms:EncryptionContext:aws:s3:arn` as unknown, so every key statement that
// conditions on it would be denied, and normalises the key's name wrongly. Two small
// edits, in both builds (ESM and CommonJS); each must match exactly once, or this
// fails loudly (a new version needs this patch reviewed, not silently skipped).
// Applied by `npm ci` (postinstall) from scripts/setup. tests/permissions.rs checks the
// patch is in place and that the condition really decides (a request with another
// bucket's encryption context is denied).
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = join(here, 'node_modules/@cloud-copilot/iam-simulate')
const MARK = 's3bridge-patch:colon-variable-keys'
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version
if (version !== '0.1.173') {
  throw new Error(`iam-simulate ${version}: this patch was written for 0.1.173; review it`)
}
const edits = [
  [
    'simulation_engine/simulationEngine.js',
    'function listHasVariableKeyMatch(lowerCaseKey, contextVariables) {\n',
    'function listHasVariableKeyMatch(lowerCaseKey, contextVariables) {\n' +
      `    // ${MARK}: keys whose variable follows a colon (kms:EncryptionContext:\${EncryptionContextKey}).\n` +
      '    for (const variable of contextVariables) {\n' +
      "        const open = variable.indexOf('${');\n" +
      "        if (open > 0 && !variable.slice(0, open).includes('/') && lowerCaseKey.length > open && lowerCaseKey.startsWith(variable.slice(0, open))) {\n" +
      '            return true;\n' +
      '        }\n' +
      '    }\n'
  ],
  [
    'context_keys/contextKeys.js',
    'function replaceVariableInContextKey(specKey, actualKey) {\n',
    'function replaceVariableInContextKey(specKey, actualKey) {\n' +
      `    // ${MARK}\n` +
      "    const variableIndex = specKey.indexOf('${');\n" +
      "    if (variableIndex > 0 && !specKey.slice(0, variableIndex).includes('/')) {\n" +
      '        return specKey.slice(0, variableIndex) + actualKey.slice(variableIndex);\n' +
      '    }\n'
  ]
]
for (const build of ['esm', 'cjs']) {
  for (const [file, anchor, replacement] of edits) {
    const path = join(root, 'dist', build, file)
    const text = readFileSync(path, 'utf8')
    if (text.includes(MARK)) continue
    if (text.split(anchor).length !== 2) {
      throw new Error(`${path}: the patched function was not found exactly once`)
    }
    writeFileSync(path, text.replace(anchor, replacement))
  }
}
console.log(`iam-simulate ${version}: patched (${MARK})`)
