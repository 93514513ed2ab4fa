import { execFile } from 'node:child_process';
import path from 'node:path';
import { connectEvents } from '../projects/harness';
import {
  creditRows,
  fixtureModel,
  startDeploymentsTestServer,
  type DeploymentsTestServer,
  type SignedInUser
} from './harness';

/** What the pickled pipeline itself answers (`predict_proba` on a DataFrame), as MLflow would score it. */
async function referenceProbabilities(modelDir: string, columns: string[], data: unknown[][]): Promise<number[][]> {
  const script = `
import json, pickle, sys
import pandas as pd
spec = json.load(sys.stdin)
model = pickle.load(open(spec["model"], "rb"))
frame = pd.DataFrame(spec["data"], columns=spec["columns"])
print(json.dumps(model.predict_proba(frame).tolist()))
`;
  const child = execFile('/usr/bin/python3', ['-c', script]);
  child.stdin?.end(JSON.stringify({ model: path.join(modelDir, 'model.pkl'), columns, data }));
  let out = '';
  child.stdout?.on('data', chunk => (out += chunk));
  await new Promise((resolve, reject) => {
    child.on('exit', code => (code === 0 ? resolve(undefined) : reject(new Error(`python exited ${code}`))));
  });
  return JSON.parse(out);
}

describe('deploying a model version and predicting', () => {
  let t: DeploymentsTestServer;
  let alice: SignedInUser;
  let project: { id: string; slug: string };
  let deploymentId: string;
  const rows = creditRows(5);
  const json = { 'content-type': 'application/json' };
  let auth: Record<string, string>;

  beforeAll(async () => {
    t = await startDeploymentsTestServer({ metricsIntervalMs: 200 });
    alice = await t.user('Alice Analyst');
    project = await t.project(alice, 'Credit Risk Alpha', ['logistic']);
    auth = { authorization: `Bearer ${alice.token}` };
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('answers 201 pending, then goes ready at /api/v1/predict/<slug>', async () => {
    const res = await t.api(alice, 'POST', '/api/v1/deployments', {
      project_id: project.id,
      version: 1
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      slug: 'credit-risk-alpha',
      url: '/api/v1/predict/credit-risk-alpha',
      status: 'pending',
      model_name: 'credit-risk-alpha',
      model_version: 1,
      runner: 'process'
    });
    deploymentId = res.body.id;
    const ready = await t.waitFor(alice, deploymentId, ['ready', 'failed']);
    expect(ready).toMatchObject({ status: 'ready', serving: true, error: null });
    // A request body the model takes, for the UI's curl example.
    expect(ready.example.columns).toEqual(rows.columns);
    expect(ready.example.data).toEqual([rows.data[0]]);
    expect(ready.ready_at).toEqual(expect.any(String));
    const list = await t.api(alice, 'GET', `/api/v1/deployments?project_id=${project.id}`);
    expect(list.body.deployments.map((d: { id: string }) => d.id)).toEqual([deploymentId]);
  }, 90_000);

  it('predicts 5 rows in every format MLflow accepts, with class probabilities equal to the pipeline\'s', async () => {
    const records = rows.data.map(row => Object.fromEntries(rows.columns.map((c, i) => [c, row[i]])));
    const columnar = Object.fromEntries(rows.columns.map((c, i) => [c, rows.data.map(row => row[i])]));
    const csv = [rows.columns.join(','), ...rows.data.map(row => row.join(','))].join('\n');
    const bodies: [string, string, Record<string, string>][] = [
      ['dataframe_split', JSON.stringify({ dataframe_split: rows }), json],
      ['dataframe_records', JSON.stringify({ dataframe_records: records }), json],
      ['instances', JSON.stringify({ instances: records }), json],
      ['inputs (records)', JSON.stringify({ inputs: records }), json],
      ['inputs (columns)', JSON.stringify({ inputs: columnar }), json],
      ['text/csv', csv, { 'content-type': 'text/csv' }]
    ];
    const expected = await referenceProbabilities(await fixtureModel('logistic'), rows.columns, rows.data);
    for (const [format, body, headers] of bodies) {
      const res = await t.predict(project.slug, body, { ...auth, ...headers });
      expect({ format, status: res.status }).toEqual({ format, status: 200 });
      const predictions = res.body.predictions as { prediction: string; probabilities: Record<string, number> }[];
      expect(predictions).toHaveLength(5);
      predictions.forEach((p, i) => {
        expect(Object.keys(p.probabilities)).toEqual(['Bad', 'Good']);
        expect(p.probabilities.Bad).toBeCloseTo(expected[i][0], 9);
        expect(p.probabilities.Good).toBeCloseTo(expected[i][1], 9);
        expect(p.prediction).toBe(expected[i][1] > expected[i][0] ? 'Good' : 'Bad');
      });
    }
  });

  it('counts requests, latency and errors, with a sample of recent requests, and tells readers', async () => {
    const events = await connectEvents(t.url, { header: `Bearer ${alice.token}` });
    await t.predict(project.slug, '{"nope": 1}', { ...auth, ...json });
    const live = await events.next(e => e.type === 'deployment.metrics' && e.payload.requests === 7);
    expect(live.payload).toMatchObject({ deploymentId, projectId: project.id, errors: 1 });
    expect(live.payload.p99Ms).toEqual(expect.any(Number));
    await events.close();
    const res = await t.api(alice, 'GET', `/api/v1/deployments/${deploymentId}/metrics`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      deployment_id: deploymentId,
      requests: 7,
      rows: 30,
      errors: 1,
      client_errors: 1,
      server_errors: 0,
      serving: true
    });
    expect(res.body.error_rate).toBeCloseTo(1 / 7, 6);
    expect(res.body.latency_ms.p50).toBeGreaterThan(0);
    expect(res.body.latency_ms.p99).toBeGreaterThanOrEqual(res.body.latency_ms.p50);
    expect(res.body.recent[0]).toMatchObject({
      status: 400,
      rows: 0,
      caller: `user ${alice.id}`,
      error: expect.stringMatching(/exactly one of/)
    });
    expect(res.body.recent[1]).toMatchObject({ status: 200, rows: 5, prediction: { prediction: expect.any(String) } });
  });

  it('undeploys: the endpoint answers 404, the deployment is stopped', async () => {
    const res = await t.api(alice, 'DELETE', `/api/v1/deployments/${deploymentId}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'stopped', serving: false, error: 'Undeployed.' });
    const after = await t.predict(project.slug, JSON.stringify({ dataframe_split: rows }), { ...auth, ...json });
    expect(after.status).toBe(404);
    expect(after.body.error.message).toMatch(/Nothing is deployed at \/api\/v1\/predict\/credit-risk-alpha/);
    const again = await t.api(alice, 'DELETE', `/api/v1/deployments/${deploymentId}`);
    expect(again.status).toBe(200);
  });
});
