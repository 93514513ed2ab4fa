import {
  startDeploymentsTestServer,
  type DeploymentsTestServer,
  type SignedInUser
} from './harness';

/**
 * Every kind of bad prediction request gets a clear 4xx naming the problem,
 * and the endpoint keeps serving: after each refusal a good request is
 * answered. The model is the categorical fixture (text columns, missing
 * values), so type checks cover numbers and text.
 */
describe('bad prediction requests', () => {
  let t: DeploymentsTestServer;
  let alice: SignedInUser;
  let outsider: SignedInUser;
  let slug: string;
  let deploymentId: string;
  let auth: Record<string, string>;
  const json = { 'content-type': 'application/json' };
  let good: string;
  let record: Record<string, unknown>;

  beforeAll(async () => {
    t = await startDeploymentsTestServer({ maxBodyBytes: 64 * 1024 });
    alice = await t.user('Alice');
    outsider = await t.user('Oscar Outsider');
    const project = await t.project(alice, 'Credit Risk Alpha', ['categorical']);
    slug = project.slug;
    auth = { authorization: `Bearer ${alice.token}` };
    const created = await t.api(alice, 'POST', '/api/v1/deployments', { project_id: project.id, version: 1 });
    deploymentId = created.body.id;
    await t.waitFor(alice, deploymentId, ['ready']);
    const meta = await t.deployments.runtime.endpoint(slug)?.worker?.metadata;
    const columns = (meta?.signature ?? []).map(c => c.name);
    record = {
      Duration: 12,
      Amount: 2096,
      InstallmentRatePercentage: 2,
      ResidenceDuration: 3,
      Age: 49,
      NumberExistingCredits: 1,
      NumberPeopleMaintenance: 2,
      Telephone: 1,
      ForeignWorker: 1,
      CheckingAccountStatus: 'none',
      CreditHistory: 'Critical',
      Purpose: 'Education',
      SavingsAccountBonds: 'lt.100',
      EmploymentDuration: '4.to.7',
      Personal: 'Male.Single',
      OtherDebtorsGuarantors: 'None',
      Property: 'RealEstate',
      OtherInstallmentPlans: 'None',
      Housing: 'Own',
      Job: 'UnskilledResident',
      Branch: 'B007'
    };
    expect(Object.keys(record).sort()).toEqual([...columns].sort());
    good = JSON.stringify({ dataframe_records: [record] });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  const stillServes = async () => {
    const res = await t.predict(slug, good, { ...auth, ...json });
    expect(res.status).toBe(200);
    expect(res.body.predictions).toHaveLength(1);
  };

  const refused = async (
    body: string | Buffer,
    headers: Record<string, string>,
    status: number,
    message: RegExp,
    code?: string
  ) => {
    const res = await t.predict(slug, body, headers);
    expect({ status: res.status, message: res.body?.error?.message }).toEqual({
      status,
      message: expect.stringMatching(message)
    });
    if (code) {
      expect(res.body.error.code).toBe(code);
    }
    await stillServes();
  };

  it('answers a good request with a label and class probabilities', async () => {
    const res = await t.predict(slug, good, { ...auth, ...json });
    expect(res.status).toBe(200);
    const [p] = res.body.predictions;
    expect(['Bad', 'Good']).toContain(p.prediction);
    expect(p.probabilities.Bad + p.probabilities.Good).toBeCloseTo(1, 6);
  });

  it('takes missing values (null, an empty CSV field) and unknown categories', async () => {
    const unknown = { ...record, Purpose: 'SpaceTravel' };
    const withUnknown = await t.predict(slug, JSON.stringify({ dataframe_records: [unknown] }), { ...auth, ...json });
    expect(withUnknown.status).toBe(200);
    const withGaps = { ...record, Age: null, Housing: null };
    const res = await t.predict(slug, JSON.stringify({ dataframe_records: [withGaps] }), { ...auth, ...json });
    expect(res.status).toBe(200);
    const csv = `${Object.keys(record).join(',')}\n${Object.values({ ...record, Age: '', Housing: '' }).join(',')}\n`;
    const viaCsv = await t.predict(slug, csv, { ...auth, 'content-type': 'text/csv' });
    expect({ status: viaCsv.status, body: viaCsv.body }).toEqual({ status: 200, body: expect.anything() });
    expect(viaCsv.body.predictions[0].probabilities.Good).toBeCloseTo(res.body.predictions[0].probabilities.Good, 9);
  });

  it('refuses missing and extra columns, naming them', async () => {
    const withoutAge = { ...record };
    delete withoutAge.Age;
    await refused(JSON.stringify({ dataframe_records: [withoutAge] }), { ...auth, ...json }, 400, /missing column "Age"/, 'invalid_input');
    await refused(
      JSON.stringify({ dataframe_records: [{ ...record, Salary: 1 }] }),
      { ...auth, ...json },
      400,
      /unknown column "Salary"; the model takes "Duration", "Amount"/
    );
    await refused(
      JSON.stringify({ dataframe_split: { columns: ['Duration'], data: [[1]] } }),
      { ...auth, ...json },
      400,
      /^Missing columns "Amount", "InstallmentRatePercentage"/
    );
    await refused(
      JSON.stringify({ inputs: { ...Object.fromEntries(Object.entries(record).map(([k, v]) => [k, [v]])), Bonus: [2] } }),
      { ...auth, ...json },
      400,
      /^Unknown column "Bonus"/
    );
  });

  it('refuses values of the wrong type, naming the column and row', async () => {
    await refused(
      JSON.stringify({ dataframe_records: [record, { ...record, Age: 'forty' }] }),
      { ...auth, ...json },
      400,
      /^Column "Age" takes numbers, not "forty" \(text\) \(row 2 of "dataframe_records"\)/
    );
    await refused(
      JSON.stringify({ instances: [{ ...record, Duration: 1.5 }] }),
      { ...auth, ...json },
      400,
      /^Column "Duration" takes whole numbers, not 1.5 \(a fraction\)/
    );
    await refused(
      JSON.stringify({ dataframe_records: [{ ...record, Housing: 3 }] }),
      { ...auth, ...json },
      400,
      /^Column "Housing" takes text, not 3/
    );
    const csv = `${Object.keys(record).join(',')}\n${Object.values({ ...record, Amount: 'lots' }).join(',')}`;
    await refused(csv, { ...auth, 'content-type': 'text/csv' }, 400, /^Column "Amount" takes whole numbers, not "lots" \(CSV row 1\)/);
  });

  it('refuses malformed JSON and bodies that are not one of the formats', async () => {
    await refused('{"dataframe_records": [', { ...auth, ...json }, 400, /not valid JSON/, 'invalid_json');
    await refused('[1, 2]', { ...auth, ...json }, 400, /exactly one of "dataframe_split"/);
    await refused(JSON.stringify({ dataframe_records: [record], instances: [record] }), { ...auth, ...json }, 400, /Found "dataframe_records", "instances"/);
    await refused(JSON.stringify({ rows: [record] }), { ...auth, ...json }, 400, /Unknown field "rows"/);
    await refused(JSON.stringify({ dataframe_records: [] }), { ...auth, ...json }, 400, /holds no rows/);
    await refused(
      JSON.stringify({ dataframe_split: { columns: Object.keys(record), data: [[1, 2]] } }),
      { ...auth, ...json },
      400,
      /Row 1 of "dataframe_split.data" must be a list of 21 values/
    );
    await refused('"a,b\n1', { ...auth, 'content-type': 'text/csv' }, 400, /ends inside a quoted field/);
  });

  it('refuses a body over the limit with 413', async () => {
    const rows = Array.from({ length: 400 }, () => record);
    const big = JSON.stringify({ dataframe_records: rows });
    expect(big.length).toBeGreaterThan(64 * 1024);
    await refused(big, { ...auth, ...json }, 413, /larger than 64 KB/, 'payload_too_large');
  });

  it('refuses other media types with 415', async () => {
    await refused(good, { ...auth, 'content-type': 'text/plain' }, 415, /application\/json or text\/csv, not "text\/plain"/, 'unsupported_media_type');
    await refused(Buffer.from(good), { ...auth }, 415, /not a body without Content-Type/);
  });

  it('answers 404 for an unknown slug, and for a project the caller cannot read', async () => {
    const unknown = await t.predict('no-such-project', good, { ...auth, ...json });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.message).toMatch(/Nothing is deployed at \/api\/v1\/predict\/no-such-project/);
    const hidden = await t.predict(slug, good, { authorization: `Bearer ${outsider.token}`, ...json });
    expect(hidden.status).toBe(404);
    await stillServes();
  });

  it('answers 401 without credentials, with a bad token, and with an unknown or revoked key', async () => {
    await refused(good, json, 401, /Send an API key of this endpoint/, 'unauthorized');
    await refused(good, { authorization: 'Bearer not-a-jwt', ...json }, 401, /session is not valid/, 'bad_jwt');
    await refused(good, { 'x-api-key': 'ink_unknown', ...json }, 401, /API key is not valid or was revoked/, 'invalid_api_key');
    const created = await t.api(alice, 'POST', `/api/v1/deployments/${deploymentId}/keys`, { name: 'billing' });
    expect(created.status).toBe(201);
    const key = created.body.key as string;
    const ok = await t.predict(slug, good, { 'x-api-key': key, ...json });
    expect(ok.status).toBe(200);
    await t.api(alice, 'DELETE', `/api/v1/deployments/${deploymentId}/keys/${created.body.id}`);
    await refused(good, { authorization: `Bearer ${key}`, ...json }, 401, /revoked/, 'invalid_api_key');
  });

  it('answers 405 for other methods', async () => {
    const res = await fetch(`${t.url}/api/v1/predict/${slug}`, { headers: auth });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('POST');
    await stillServes();
  });
});
