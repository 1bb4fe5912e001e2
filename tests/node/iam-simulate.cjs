// IAM's verdict on requests, by @cloud-copilot/iam-simulate (which reads AWS's own action and
// condition-key data): one JSON request per line on stdin, one JSON verdict per line on stdout.
//   request: {"identity": [statements] | null, "resource_policy": [statements] | null,
//             "principal": ARN or service principal, "action": "s3:GetObject",
//             "resource": ARN, "account": "123456789012", "context": {key: value | [values]}}
//   verdict: {"result": "Allowed" | "ImplicitlyDenied" | "ExplicitlyDenied"} or {"error": ...}
// Used by stack-gen/tests/iam_conditions.rs.
const readline = require('node:readline');
const { runSimulation } = require('@cloud-copilot/iam-simulate');

const policy = (statements) => ({ Version: '2012-10-17', Statement: statements });

async function verdict(r) {
  const simulation = {
    request: {
      principal: r.principal,
      action: r.action,
      resource: { resource: r.resource, accountId: r.account },
      contextVariables: r.context,
    },
    identityPolicies: r.identity ? [{ name: 'identity', policy: policy(r.identity) }] : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
  };
  if (r.resource_policy) simulation.resourcePolicy = policy(r.resource_policy);
  const result = await runSimulation(simulation, { simulationMode: 'Strict' });
  if (result.resultType === 'error') return { error: result.errors };
  return { result: result.overallResult };
}

const lines = readline.createInterface({ input: process.stdin });
(async () => {
  for await (const line of lines) {
    let answer;
    try {
      answer = await verdict(JSON.parse(line));
    } catch (e) {
      answer = { error: String(e && e.stack || e) };
    }
    process.stdout.write(JSON.stringify(answer) + '\n');
  }
})();
