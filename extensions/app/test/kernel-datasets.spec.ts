/**
 * The `insighter` Python package in real kernels of a real Insighter Lab
 * (real sidecar): the browser's access token deposited with the Jupyter
 * server reaches kernels through a 0600 file, and `insighter.datasets`
 * lists and loads CSV and Parquet datasets uploaded through the REST API —
 * Parquet through the sidecar's CSV conversion, since Debian's pandas has no
 * Parquet engine.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';

import { Kernel } from './support/kernel';
import {
  freePort,
  REPO_ROOT,
  RunningLab,
  startLab,
  waitFor
} from './support/lab';

const GERMAN_CREDIT =
  process.env.INSIGHTER_TEST_GERMAN_CREDIT ??
  '/work/shared/data/german_credit.csv';
const PASSWORD = 'engine1843';
const SLUG = 'credit-risk-alpha';

let lab: RunningLab;
let scratch: string;
let anonKey: string;

function sidecar(relative: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`http://127.0.0.1:${lab.apiPort}/${relative}`, init);
}

async function call<T>(
  method: string,
  relative: string,
  token: string,
  body?: unknown
): Promise<T> {
  const response = await sidecar(relative, {
    method,
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json'
    },
    body: body === undefined ? undefined : JSON.stringify(body)
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(
      `${method} ${relative} answered ${response.status}: ${text}`
    );
  }
  return JSON.parse(text) as T;
}

/** A confirmed account (the lab runs with INSIGHTER_AUTH_AUTOCONFIRM): its access token. */
async function signUp(name: string): Promise<string> {
  const response = await sidecar('auth/v1/signup', {
    method: 'POST',
    headers: { apikey: anonKey, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      email: `${name}.${Date.now()}@example.com`,
      password: PASSWORD,
      data: { full_name: name }
    })
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

interface IDataset {
  id: string;
  name: string;
  status: string;
  row_count: number;
}

/** Uploads a file as scripts do (raw body) and waits until the catalog says Ready. */
async function upload(
  token: string,
  projectId: string,
  name: string,
  file: string,
  contentType: string
): Promise<IDataset> {
  const query = new URLSearchParams({ project_id: projectId, name });
  const response = await sidecar(`api/v1/datasets?${query}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': contentType },
    body: readFileSync(file)
  });
  const text = await response.text();
  if (!response.ok) {
    throw new Error(`uploading ${name} answered ${response.status}: ${text}`);
  }
  const created = JSON.parse(text) as IDataset;
  return waitFor(
    `${name} to be ready`,
    async () => {
      const record = await call<IDataset>(
        'GET',
        `api/v1/datasets/${created.id}`,
        token
      );
      if (record.status === 'failed') {
        throw new Error(`${name} failed: ${JSON.stringify(record)}`);
      }
      return record.status === 'ready' ? record : undefined;
    },
    60_000,
    250
  );
}

/** What the page does after sign-in and on every token refresh. */
function deposit(
  token: string,
  init: { auth?: boolean; headers?: Record<string, string> } = {}
) {
  return lab.fetch('insighter-lab/kernel-session', {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json', ...init.headers },
    body: JSON.stringify({ access_token: token }),
    auth: init.auth
  });
}

function sessionFile(): string {
  return path.join(lab.dataDir, 'run', 'kernel-session.json');
}

/** `/usr/bin/python3 -c` with the package on its path, as a script outside a kernel runs. */
function python(code: string, env: Record<string, string>) {
  const result = spawnSync('/usr/bin/python3', ['-c', code], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PYTHONPATH: path.join(REPO_ROOT, 'jupyter-config'),
      ...env
    },
    encoding: 'utf8',
    timeout: 60_000
  });
  return {
    status: result.status,
    stdout: result.stdout,
    stderr: result.stderr
  };
}

/** Catches one insighter error and prints its class and message. */
function reporting(code: string): string {
  return [
    'import insighter',
    'try:',
    ...code.split('\n').map(line => `    ${line}`),
    'except insighter.InsighterError as error:',
    '    print(type(error).__name__, "|", error)'
  ].join('\n');
}

beforeAll(async () => {
  lab = await startLab({ env: { INSIGHTER_AUTH_AUTOCONFIRM: 'true' } });
  scratch = mkdtempSync(path.join(os.tmpdir(), 'insighter-kernel-datasets-'));
  const config = (await (await sidecar('api/v1/config')).json()) as {
    supabase_anon_key: string;
  };
  anonKey = config.supabase_anon_key;
});

afterAll(async () => {
  await lab?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the kernel session handler', () => {
  it('refuses requests without Jupyter credentials, and cookie requests without XSRF', async () => {
    const token = await signUp('henry');
    expect((await deposit(token, { auth: false })).status).toBe(403);
    const login = await lab.fetch('lab');
    const loginCookie = login.headers
      .getSetCookie()
      .map(c => c.split(';')[0])
      .find(c => c.startsWith('username-'));
    expect(loginCookie).toBeDefined();
    const noXsrf = await deposit(token, {
      auth: false,
      headers: { Cookie: loginCookie! }
    });
    expect(noXsrf.status).toBe(403);
    const remove = await lab.fetch('insighter-lab/kernel-session', {
      method: 'DELETE',
      auth: false
    });
    expect(remove.status).toBe(403);
    expect(existsSync(sessionFile())).toBe(false);
  });

  it('keeps the token in a 0600 file, replaced whole, and never echoes a bad one', async () => {
    const token = await signUp('iris');
    expect((await deposit(token)).status).toBe(204);
    expect(statSync(sessionFile()).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(sessionFile(), 'utf8')).access_token).toBe(
      token
    );
    // No temporary file is left next to it.
    expect(
      readdirSync(path.dirname(sessionFile())).filter(f =>
        f.includes('kernel-session')
      )
    ).toEqual(['kernel-session.json']);

    const bad = await lab.fetch('insighter-lab/kernel-session', {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ access_token: 'not a token secret-value' })
    });
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('secret-value');
    expect(JSON.parse(readFileSync(sessionFile(), 'utf8')).access_token).toBe(
      token
    );
    expect(lab.output()).not.toContain(token);

    const removed = await lab.fetch('insighter-lab/kernel-session', {
      method: 'DELETE'
    });
    expect(removed.status).toBe(204);
    expect(existsSync(sessionFile())).toBe(false);
  });
});

describe('insighter in a kernel', () => {
  let token: string;
  let projectId: string;
  let kernel: Kernel;

  beforeAll(async () => {
    token = await signUp('ada');
    const project = await call<{ id: string; slug: string }>(
      'POST',
      'api/v1/projects',
      token,
      { name: 'Credit Risk Alpha', description: '', visibility: 'private' }
    );
    projectId = project.id;
    expect(project.slug).toBe(SLUG);
    // What "+ New Project" does in the browser: the project's folder.
    mkdirSync(path.join(lab.dataDir, 'notebooks', 'projects', SLUG), {
      recursive: true
    });
    kernel = await Kernel.start(lab, `projects/${SLUG}`);
  });

  afterAll(async () => {
    await kernel?.shutdown();
  });

  it('finds the package, the sidecar and the session file in its environment', async () => {
    const { stdout } = await kernel.run(
      [
        'import json, os, insighter',
        'print(json.dumps({',
        '  "file": insighter.__file__,',
        '  "api": os.environ["INSIGHTER_API_URL"],',
        '  "session": os.environ["INSIGHTER_KERNEL_SESSION"],',
        '  "cwd": os.getcwd(),',
        '  "slug": insighter.session().notebook_project_slug(),',
        '}))'
      ].join('\n')
    );
    const seen = JSON.parse(stdout);
    expect(seen).toEqual({
      file: path.join(REPO_ROOT, 'jupyter-config', 'insighter', '__init__.py'),
      api: `http://127.0.0.1:${lab.apiPort}`,
      session: sessionFile(),
      cwd: path.join(lab.dataDir, 'notebooks', 'projects', SLUG),
      slug: SLUG
    });
  });

  it('says how to sign in when nobody is signed in', async () => {
    expect(existsSync(sessionFile())).toBe(false);
    const outcome = await kernel.execute(
      'import insighter\ninsighter.datasets.list()'
    );
    expect(outcome.error?.ename).toBe('NotSignedIn');
    expect(outcome.error?.evalue).toMatch(
      /^Not signed in to Insighter: .* Sign in to Insighter in Insighter Lab/
    );
  });

  it('lists and loads a CSV dataset of the notebook’s project', async () => {
    const dataset = await upload(
      token,
      projectId,
      'german_credit',
      GERMAN_CREDIT,
      'text/csv'
    );
    expect(dataset.row_count).toBe(1000);
    expect((await deposit(token)).status).toBe(204);

    const listed = await kernel.run(
      [
        'import insighter',
        'datasets = insighter.datasets.list()',
        'print(type(datasets).__name__)',
        'print(datasets[["name", "format", "status", "row_count", "column_count", "project"]].to_dict("records"))'
      ].join('\n')
    );
    expect(listed.stdout).toBe(
      "DataFrame\n[{'name': 'german_credit', 'format': 'csv', 'status': 'ready', 'row_count': 1000, 'column_count': 62, 'project': 'credit-risk-alpha'}]\n"
    );

    const loaded = await kernel.run(
      [
        'df = insighter.datasets.load("german_credit")',
        'print(df.shape)',
        'print(list(df.columns[:3]), df["Class"].value_counts().to_dict())'
      ].join('\n')
    );
    expect(loaded.stdout).toBe(
      "(1000, 62)\n['Duration', 'Amount', 'InstallmentRatePercentage'] {'Good': 700, 'Bad': 300}\n"
    );
    // read_csv's own options pass through.
    const some = await kernel.run(
      'print(insighter.datasets.load("german_credit", usecols=["Age", "Amount"], nrows=10).shape)'
    );
    expect(some.stdout).toBe('(10, 2)\n');
  });

  it('loads a Parquet dataset although pandas has no Parquet engine', async () => {
    const parquet = path.join(scratch, 'transactions.parquet');
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    await connection.run(
      `COPY (SELECT i AS id,
                    CASE WHEN i % 10 = 0 THEN NULL ELSE i * 0.5 END AS amount,
                    DATE '2024-01-01' + i::INTEGER AS day,
                    'shop, "' || (i % 3) || '"' AS merchant
             FROM range(250) t(i)) TO '${parquet}' (FORMAT parquet)`
    );
    connection.closeSync();
    instance.closeSync();
    await upload(
      token,
      projectId,
      'transactions',
      parquet,
      'application/vnd.apache.parquet'
    );

    const noEngine = await kernel.execute(
      `import pandas as pd\npd.read_parquet(${JSON.stringify(parquet)})`
    );
    expect(noEngine.error?.ename).toBe('ImportError');

    const { stdout } = await kernel.run(
      [
        'df = insighter.datasets.load("transactions")',
        'print(df.shape)',
        'print(df["amount"].isna().sum(), df["day"].dtype, df["day"].iloc[31].date(), df["merchant"].iloc[1])'
      ].join('\n')
    );
    expect(stdout).toBe('(250, 4)\n25 datetime64[ns] 2024-02-01 shop, "1"\n');
  });

  it('loads a chosen version, and a ;-separated CSV as comma-separated', async () => {
    const v1 = path.join(scratch, 'scores-v1.csv');
    const v2 = path.join(scratch, 'scores-v2.csv');
    writeFileSync(v1, 'name;score\n"Ada; L.";1,5\nGrace;2\n');
    writeFileSync(v2, 'name,score\nAda,3\nGrace,4\nKatherine,5\n');
    await upload(token, projectId, 'scores', v1, 'text/csv');
    await upload(token, projectId, 'scores', v2, 'text/csv');

    const { stdout } = await kernel.run(
      [
        'print(insighter.datasets.load("scores").shape)',
        'old = insighter.datasets.load("scores", version=1)',
        'print(old.to_dict("list"))'
      ].join('\n')
    );
    expect(stdout).toBe(
      "(3, 2)\n{'name': ['Ada; L.', 'Grace'], 'score': ['1,5', '2']}\n"
    );
    const missing = await kernel.execute(
      'insighter.datasets.load("scores", version=7)'
    );
    expect(missing.error).toEqual({
      ename: 'NotFound',
      evalue: "Dataset 'scores' has no version 7; its versions: 1, 2."
    });
  });

  it('names the datasets there are when asked for one that is not', async () => {
    const outcome = await kernel.execute(
      'insighter.datasets.load("german-credit-2")'
    );
    expect(outcome.error?.ename).toBe('NotFound');
    expect(outcome.error?.evalue).toBe(
      "No dataset 'german-credit-2' in project 'Credit Risk Alpha' (credit-risk-alpha). Datasets there: 'german_credit', 'scores', 'transactions'."
    );
  });

  it('sees every readable dataset outside a project folder, and project= picks one', async () => {
    const other = await call<{ id: string }>('POST', 'api/v1/projects', token, {
      name: 'Sandbox',
      description: '',
      visibility: 'private'
    });
    const small = path.join(scratch, 'small.csv');
    writeFileSync(small, 'a,b\n1,2\n3,4\n');
    await upload(token, other.id, 'small', small, 'text/csv');

    const outside = await Kernel.start(lab, '');
    try {
      const everywhere = await outside.run(
        'import insighter\nprint(sorted(insighter.datasets.list()["name"]))'
      );
      expect(everywhere.stdout).toBe(
        "['german_credit', 'scores', 'small', 'transactions']\n"
      );
      const one = await outside.run(
        'print(sorted(insighter.datasets.list(project="Sandbox")["name"]), insighter.datasets.load("small").shape)'
      );
      expect(one.stdout).toBe("['small'] (2, 2)\n");
    } finally {
      await outside.shutdown();
    }
    // In the project folder, "*" reaches the other projects too.
    const anywhere = await kernel.run(
      'print(insighter.datasets.load("small", project="*").shape)'
    );
    expect(anywhere.stdout).toBe('(2, 2)\n');
  });

  it('uses a refreshed token at once and stops at sign-out', async () => {
    // A new session of the same person (what TOKEN_REFRESHED brings).
    const login = await sidecar('auth/v1/token?grant_type=password', {
      method: 'POST',
      headers: { apikey: anonKey, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        email: JSON.parse(
          Buffer.from(token.split('.')[1], 'base64url').toString()
        ).email,
        password: PASSWORD
      })
    });
    const fresh = ((await login.json()) as { access_token: string })
      .access_token;
    expect(fresh).not.toBe(token);
    expect((await deposit(fresh)).status).toBe(204);
    const { stdout } = await kernel.run(
      'print(insighter.datasets.load("german_credit").shape)'
    );
    expect(stdout).toBe('(1000, 62)\n');

    expect(
      (await lab.fetch('insighter-lab/kernel-session', { method: 'DELETE' }))
        .status
    ).toBe(204);
    const after = await kernel.execute(
      'insighter.datasets.load("german_credit")'
    );
    expect(after.error?.ename).toBe('NotSignedIn');
  });
});

describe('insighter outside a kernel', () => {
  it('says the sidecar is unreachable, and where it looked', async () => {
    const port = await freePort();
    const { stdout, status } = python(reporting('insighter.datasets.list()'), {
      INSIGHTER_API_URL: `http://127.0.0.1:${port}`,
      INSIGHTER_ACCESS_TOKEN: 'a.b.c'
    });
    expect(status).toBe(0);
    expect(stdout).toMatch(
      new RegExp(
        `^ServiceUnreachable \\| Insighter's service at http://127\\.0\\.0\\.1:${port} could not be reached \\(.*refused.*\\)\\. `
      )
    );
  });

  it('says it is not in Insighter Lab when nothing tells it where Insighter is', () => {
    const { stdout } = python(reporting('insighter.datasets.load("x")'), {});
    expect(stdout).toMatch(
      /^InsighterError \| This Python is not running in Insighter Lab: INSIGHTER_API_URL is not set\./
    );
  });
});
