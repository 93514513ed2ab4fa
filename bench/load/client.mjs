// The simulated users of the load test, in their own process so that they
// take no CPU from the sidecar's event loop (the machine's cores they share).
// Each user loops until the time is up: picks a kind of request by its
// weight, sends it with its own session, waits for the answer, and (with
// think time) pauses. Reads the plan from the JSON file named by argv[2];
// prints one JSON line: {kinds: {kind: {latencies: [ms], errors, samples}}}.
import fs from 'node:fs';
import { Agent, request } from 'undici';

const plan = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const { base, anonKey, predict, weights, warmupS, durationS, thinkMs } = plan;
const agent = new Agent({ keepAliveTimeout: 60_000 });
const totalWeight = Object.values(weights).reduce((a, b) => a + b, 0);

/** One request of each kind, as the user's client would send it. */
const kinds = {
  'sign-in': user => ({
    method: 'POST',
    url: `${base}/auth/v1/token?grant_type=password`,
    headers: { apikey: anonKey, 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email, password: user.password })
  }),
  'project list': user => ({
    method: 'GET',
    url: `${base}/api/v1/projects`,
    headers: { authorization: `Bearer ${user.token}` }
  }),
  'dataset preview': user => ({
    method: 'GET',
    url: `${base}/api/v1/datasets/${user.datasetId}/preview?limit=50`,
    headers: { authorization: `Bearer ${user.token}` }
  }),
  'run search': user => ({
    method: 'POST',
    url: `${base}/api/2.0/mlflow/runs/search`,
    headers: {
      authorization: `Bearer ${user.token}`,
      'content-type': 'application/json'
    },
    body: JSON.stringify({
      experiment_ids: [user.experimentId],
      filter: 'metrics.accuracy > 0.5',
      order_by: ['metrics.accuracy DESC'],
      max_results: 50
    })
  }),
  'metric logging': user => {
    user.step = (user.step ?? 0) + 1;
    return {
      method: 'POST',
      url: `${base}/api/2.0/mlflow/runs/log-batch`,
      headers: {
        authorization: `Bearer ${user.token}`,
        'content-type': 'application/json'
      },
      body: JSON.stringify({
        run_id: user.liveRunId,
        metrics: ['loss', 'accuracy', 'auc', 'val_loss', 'val_accuracy'].map(
          key => ({
            key,
            value: Math.random(),
            timestamp: Date.now(),
            step: user.step
          })
        )
      })
    };
  },
  prediction: () => ({
    method: 'POST',
    url: `${base}${predict.url}`,
    headers: { 'x-api-key': predict.key, 'content-type': 'application/json' },
    body: predict.body
  })
};

const results = Object.fromEntries(
  Object.keys(kinds).map(kind => [
    kind,
    { latencies: [], errors: 0, samples: [] }
  ])
);

function pick() {
  let left = Math.random() * totalWeight;
  for (const [kind, weight] of Object.entries(weights)) {
    left -= weight;
    if (left < 0) {
      return kind;
    }
  }
  return Object.keys(weights)[0];
}

async function simulate(user, until, measuring) {
  while (performance.now() < until) {
    const kind = pick();
    const { url, ...options } = kinds[kind](user);
    const started = performance.now();
    let failure;
    try {
      const res = await request(url, { ...options, dispatcher: agent });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode > 299) {
        failure = `${res.statusCode} ${text.slice(0, 200)}`;
      }
    } catch (err) {
      failure = String(err);
    }
    const ms = performance.now() - started;
    if (measuring) {
      const result = results[kind];
      result.latencies.push(Math.round(ms * 100) / 100);
      if (failure) {
        result.errors += 1;
        if (result.samples.length < 5) {
          result.samples.push(failure);
        }
      }
    }
    if (thinkMs > 0) {
      await new Promise(resolve =>
        setTimeout(resolve, Math.random() * 2 * thinkMs)
      );
    }
  }
}

const warmupEnd = performance.now() + warmupS * 1000;
await Promise.all(plan.users.map(user => simulate(user, warmupEnd, false)));
const end = performance.now() + durationS * 1000;
await Promise.all(plan.users.map(user => simulate(user, end, true)));
await agent.close();
process.stdout.write(JSON.stringify({ kinds: results }) + '\n');
