// Evaluates s3bridge's permission catalogue with @cloud-copilot/iam-simulate.
// stdin: {"documents": [...], "auditor": [...], "requests": [...]}, where documents are
// what `s3bridge policies SPEC --format json` prints, auditor what `--auditor` prints,
// and requests the catalogue (src/model/requests.rs). stdout: one result per request,
// in order: {"decision": "Allowed" | "ExplicitlyDenied" | "ImplicitlyDenied" | "Error",
// "detail": ...}. Which policies apply is decided here the way AWS does:
//  - identity policy: the role's inline policies (caller "bundle"), the auditor policy of
//    the principal's account ("auditor"), an allow-everything policy ("unrestricted": only
//    the bundle's resource policies may refuse), none for a service principal;
//  - resource policy: the trust policy of the role assumed, the bucket policy of the
//    bucket, the topic policy of the SNS topic, the key policy of the key (a key that is none of the bundle's gets the KMS
//    default key policy, which hands access to the account's IAM policies).
// The evaluator applies the cross-account rule itself (both halves must allow).
import { runSimulation } from '@cloud-copilot/iam-simulate'

const input = JSON.parse(await new Promise((resolve) => {
  let text = ''
  process.stdin.on('data', (chunk) => (text += chunk))
  process.stdin.on('end', () => resolve(text))
}))

const accountOf = (arn) => arn.split(':')[4]

function identityPolicies(request) {
  switch (request.caller) {
    case 'bundle':
      return input.documents
        .filter((d) => d.kind === 'iam' && d.attached_to === request.principal)
        .map((d) => ({ name: d.name, policy: d.document }))
    case 'auditor':
      return input.auditor
        .filter((d) => d.account === accountOf(request.principal))
        .map((d) => ({ name: d.name, policy: d.document }))
    case 'unrestricted':
      return [{
        name: 'own-iam-policy',
        policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }
      }]
    case 'service':
      return []
    default:
      throw new Error(`unknown caller ${request.caller}`)
  }
}

function resourcePolicy(request) {
  const [service] = request.action.split(':')
  const find = (kind, match) => input.documents.find((d) => d.kind === kind && match(d.attached_to))
  if (request.action === 'sts:AssumeRole') {
    return find('trust', (arn) => arn === request.resource)?.document
  }
  if (service === 's3') {
    return find('bucket', (arn) => request.resource === arn || request.resource.startsWith(arn + '/'))?.document
  }
  if (service === 'sns') {
    return find('topic', (arn) => arn === request.resource)?.document
  }
  if (service === 'kms') {
    const key = find('key', (arn) => arn === request.resource)
    if (key) return key.document
    return {
      Version: '2012-10-17',
      Statement: [{
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${request.resource_account}:root` },
        Action: 'kms:*',
        Resource: '*'
      }]
    }
  }
  return undefined
}

const results = []
for (const request of input.requests) {
  const simulation = {
    identityPolicies: identityPolicies(request),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: resourcePolicy(request),
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: request.resource_account },
      contextVariables: request.context
    }
  }
  try {
    const response = await runSimulation(simulation, {})
    if (response.resultType === 'error') {
      results.push({ decision: 'Error', detail: response.errors })
    } else {
      const ignored = response.result?.ignoredContextKeys ?? response.results?.flatMap((r) => r.ignoredContextKeys ?? []) ?? []
      results.push({ decision: response.overallResult, detail: { ignoredContextKeys: [...new Set(ignored)] } })
    }
  } catch (error) {
    results.push({ decision: 'Error', detail: String(error) })
  }
}
process.stdout.write(JSON.stringify(results))
