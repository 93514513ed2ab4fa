// The MLflow client of the benchmark, in its own process so that it takes no
// CPU from the sidecar's event loop: N sequential runs/log-batch requests of
// 1,000 metrics each (bodies built before the clock starts), and a browser's
// event stream open beside them that counts the run.metric events arriving.
// Prints one JSON line: {latencies: [ms], delivered: [ms], errors}.
import WebSocket from 'ws';

const [url, token, runId, countArg] = process.argv.slice(2);
const count = Number(countArg);
const METRICS = 1000;
const KEYS = 10;

const bodies = Array.from({ length: count }, (_, batch) =>
  JSON.stringify({
    run_id: runId,
    metrics: Array.from({ length: METRICS }, (_, i) => ({
      key: `metric_${i % KEYS}`,
      value: Math.random(),
      timestamp: Date.now(),
      step: batch * (METRICS / KEYS) + Math.floor(i / KEYS)
    }))
  })
);

const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/api/v1/events`, {
  headers: { authorization: `Bearer ${token}` }
});
await new Promise((resolve, reject) => {
  ws.once('open', resolve);
  ws.once('error', reject);
});
let received = 0;
let wake = () => {};
ws.on('message', data => {
  if (JSON.parse(data.toString()).type === 'run.metric') {
    received += 1;
    wake();
  }
});

const latencies = [];
const delivered = [];
let errors = 0;
for (const body of bodies) {
  const expected = received + METRICS;
  const started = performance.now();
  const res = await fetch(`${url}/api/2.0/mlflow/runs/log-batch`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body
  });
  await res.arrayBuffer();
  latencies.push(performance.now() - started);
  if (res.status !== 200) {
    errors += 1;
    continue;
  }
  // Every value of the batch reaches the open stream before the next batch.
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${received} events arrived`)), 30_000);
    wake = () => {
      if (received >= expected) {
        clearTimeout(timer);
        resolve();
      }
    };
    wake();
  });
  delivered.push(performance.now() - started);
}
ws.close();
process.stdout.write(JSON.stringify({ latencies, delivered, errors }) + '\n');
