import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { registerVersion, creditRows } from '../deployments/harness';
import {
  GERMAN_CREDIT,
  startJobsSidecar,
  type JobsSidecar,
  type Person
} from '../jobs/harness';
import { BACKENDS } from '../support/postgres';
import {
  craftedModel,
  deployAndWait,
  expectNothingWritten,
  expectSandboxed,
  filesUnder,
  NOBODY,
  probeConfigFor,
  probeIn,
  pythonProcesses,
  viewOf,
  waitForPython,
  type SandboxedSidecar
} from './model-sandbox-support';

/**
 * Issue 12 (part 1): "A crafted model runs code as the sidecar's OS user".
 *
 * The finding, replayed through the real sidecar (`startSidecar`, embedded
 * PGlite or PostgreSQL 15) with the process runner: a signed-in user creates
 * a run, uploads `MLmodel` and a `model.pkl` whose unpickling runs code
 * (`os.system` among it) through `PUT /api/2.0/mlflow-artifacts/…`,
 * registers it with `model-versions/create` and deploys it. Now it is
 * unpickled only in the bubblewrap sandbox: as nobody, seeing nothing of the
 * data dir but its own model files — no secrets, no database, no other
 * user's objects —, without network, and nothing it writes lands outside.
 * Training runs in the same sandbox. The version a training job registers
 * is served from its safe format (never its pickle) while its files are
 * unchanged; a changed file, or a version a person registered, is unpickled
 * in the sandbox only; and where no sandbox runs, deploying it (or training)
 * is refused with 409, never run unsandboxed.
 */
describe.each(BACKENDS)(
  'models and training in the sandbox on %s (issue 12)',
  backend => {
    let t: JobsSidecar;
    let port: number;
    let mallory: Person;
    let project: { id: string; slug: string };
    /** A file of another user's (Victor's dataset), on the host. */
    let victimObject: string;

    beforeAll(async () => {
      t = await startJobsSidecar({
        backend,
        env: { INSIGHTER_JOBS_RUNNER: 'process' }
      });
      port = Number(new URL(t.url).port);
      const victim = await t.person('Victor Victim');
      const victimProject = await t.project(victim);
      await t.dataset(
        victim,
        victimProject.id,
        'credit',
        fs.readFileSync(GERMAN_CREDIT)
      );
      [victimObject] = filesUnder(path.join(t.dataDir, 'storage')).map(f =>
        path.join(t.dataDir, 'storage', f)
      );
      mallory = await t.person('Mallory Maker');
      project = await t.project(mallory);
    }, 180_000);

    afterAll(async () => {
      await t?.close();
    });

    const sandbox = (): SandboxedSidecar => ({
      dataDir: t.dataDir,
      port,
      victimObject
    });
    const probeConfig = (marker: string) => probeConfigFor(sandbox(), marker);

    it("unpickles a crafted model only in the sandbox: as nobody, without the data dir, its secrets, other users' files or network, and nothing it writes lands outside", async () => {
      // What the model will look for is really there, outside.
      expect(
        fs.readdirSync(path.join(t.dataDir, 'secrets')).length
      ).toBeGreaterThan(0);
      expect(fs.existsSync(victimObject)).toBe(true);
      if (backend === 'pglite') {
        expect(fs.existsSync(path.join(t.dataDir, 'db'))).toBe(true);
      }
      const config = probeConfig(`crafted-${randomUUID()}`);
      const version = await registerVersion(
        t.url,
        mallory.token,
        project.slug,
        await craftedModel(config)
      );
      const deployment = await deployAndWait(t, mallory, project.id, version);
      expect(deployment.body).toMatchObject({
        status: 'failed',
        serving: false
      });
      expectSandboxed(probeIn(deployment.body.error), deployment.body.id);
      expectNothingWritten(config);
    }, 120_000);

    let job: {
      id: string;
      run_id: string;
      experiment_id: string;
      model_version: number;
    };

    it('trains in the sandbox: the job runs as nobody, without capabilities or network, seeing only its own socket of the data dir', async () => {
      const dataset = await t.dataset(
        mallory,
        project.id,
        'credit',
        fs.readFileSync(GERMAN_CREDIT)
      );
      const created = await t.api(mallory, 'POST', '/api/v1/jobs', {
        project_id: project.id,
        dataset_id: dataset.id,
        target: 'Class',
        algorithm: 'xgboost',
        params: { n_estimators: 200 }
      });
      expect(created.status).toBe(202);
      const pid = await waitForPython(['insighter_train', created.body.id]);
      const view = viewOf(pid, t.dataDir);
      expect(view).toEqual({
        uids: [NOBODY, NOBODY, NOBODY, NOBODY],
        capabilities: '0000000000000000',
        ownNetwork: true,
        ownMounts: true,
        seen: [`jobs/${created.body.id}/run/sidecar.sock`]
      });
      job = await t.ended(mallory, created.body.id, 120_000);
      expect(job).toMatchObject({
        status: 'succeeded',
        model_version: expect.any(Number)
      });
    }, 180_000);

    it('serves the version the job registered from its safe format, in the sandbox: the worker never unpickles', async () => {
      const deployment = await deployAndWait(
        t,
        mallory,
        project.id,
        job.model_version
      );
      expect(deployment.body).toMatchObject({
        status: 'ready',
        loader: 'json',
        sandbox: 'bubblewrap'
      });
      const [pid] = pythonProcesses('insighter_serve', deployment.body.id);
      const view = viewOf(pid, t.dataDir);
      expect(view).toMatchObject({
        uids: [NOBODY, NOBODY, NOBODY, NOBODY],
        ownNetwork: true,
        ownMounts: true
      });
      expect(
        view.seen.every(f => f.startsWith(`deployments/${deployment.body.id}/`))
      ).toBe(true);
      expect(view.seen).toContain(
        `deployments/${deployment.body.id}/model/insighter_model.json`
      );
      // Once its socket is made, its folder is the sidecar's again: the worker cannot swap the socket.
      const run = path.join(
        t.dataDir,
        'deployments',
        deployment.body.id,
        'run'
      );
      expect({
        uid: fs.statSync(run).uid,
        mode: fs.statSync(run).mode & 0o777
      }).toEqual({ uid: 0, mode: 0o700 });
      expect(fs.lstatSync(path.join(run, 'worker.sock')).isSocket()).toBe(true);
      // Lending the model to the sandbox keeps the data dir's rule: nothing for group or others.
      const model = path.join(
        t.dataDir,
        'deployments',
        deployment.body.id,
        'model'
      );
      expect(
        [model, ...filesUnder(model).map(f => path.join(model, f))]
          .map(p => ({ p, mode: fs.statSync(p).mode & 0o077 }))
          .filter(e => e.mode !== 0)
      ).toEqual([]);
      const answer = await t.api(
        mallory,
        'POST',
        `/api/v1/predict/${project.slug}`,
        {
          dataframe_split: creditRows(3)
        }
      );
      expect(answer.status).toBe(200);
      expect(answer.body.predictions).toHaveLength(3);
    }, 120_000);

    it("does not count a version a person registers as a job's, even with the job's very files: it is unpickled, in the sandbox", async () => {
      const copy = fs.mkdtempSync(
        path.join(os.tmpdir(), 'insighter-job-model-copy-')
      );
      const folder = `${job.experiment_id}/${job.run_id}/artifacts/model`;
      const listing = await t.api(
        mallory,
        'GET',
        `/api/2.0/mlflow-artifacts/artifacts?path=${encodeURIComponent(folder)}`
      );
      for (const file of listing.body.files as { path: string }[]) {
        const res = await fetch(
          `${t.url}/api/2.0/mlflow-artifacts/artifacts/${folder}/${file.path}`,
          {
            headers: { authorization: `Bearer ${mallory.token}` }
          }
        );
        fs.writeFileSync(
          path.join(copy, file.path),
          Buffer.from(await res.arrayBuffer())
        );
      }
      expect(fs.existsSync(path.join(copy, 'insighter_model.json'))).toBe(true);
      const version = await registerVersion(
        t.url,
        mallory.token,
        project.slug,
        copy
      );
      const deployment = await deployAndWait(t, mallory, project.id, version);
      expect(deployment.body).toMatchObject({
        status: 'ready',
        loader: 'pickle',
        sandbox: 'bubblewrap'
      });
    }, 120_000);

    it("takes the mark away when a file of the job's version changes: the version is then unpickled, in the sandbox only", async () => {
      const config = probeConfig(`tampered-${randomUUID()}`);
      const crafted = await craftedModel(config);
      const replaced = await fetch(
        `${t.url}/api/2.0/mlflow-artifacts/artifacts/${job.experiment_id}/${job.run_id}/artifacts/model/model.pkl`,
        {
          method: 'PUT',
          headers: { authorization: `Bearer ${mallory.token}` },
          body: fs.readFileSync(path.join(crafted, 'model.pkl'))
        }
      );
      expect(replaced.status).toBe(200);
      const deployment = await deployAndWait(
        t,
        mallory,
        project.id,
        job.model_version
      );
      expect(deployment.body.status).toBe('failed');
      const probe = probeIn(deployment.body.error);
      expect(probe).toMatchObject({ uid: NOBODY, tcp: 'ECONNREFUSED' });
      expect(
        probe!.seen.every(f =>
          f.startsWith(`deployments/${deployment.body.id}/model/`)
        )
      ).toBe(true);
      expectNothingWritten(config);
    }, 120_000);

    it('refuses with 409, naming what to install, to train or to deploy a pickle where no sandbox runs; the model never runs', async () => {
      const bare = await startJobsSidecar({
        backend,
        env: {
          INSIGHTER_JOBS_RUNNER: 'process',
          INSIGHTER_SANDBOX_BWRAP: '/nonexistent/bwrap',
          DOCKER_HOST: 'unix:///nonexistent/docker.sock'
        }
      });
      try {
        const erin = await bare.person('Erin Elsewhere');
        const own = await bare.project(erin);
        const dataset = await bare.dataset(
          erin,
          own.id,
          'credit',
          fs.readFileSync(GERMAN_CREDIT)
        );
        const training = await bare.api(erin, 'POST', '/api/v1/jobs', {
          project_id: own.id,
          dataset_id: dataset.id,
          target: 'Class',
          algorithm: 'xgboost'
        });
        expect(training.status).toBe(409);
        expect(training.body.error).toMatchObject({
          code: 'sandbox_unavailable',
          message: expect.stringMatching(
            /install bubblewrap \(apt-get install bubblewrap\)/
          )
        });
        const config = {
          ...probeConfig(`unsandboxed-${randomUUID()}`),
          walk: bare.dataDir
        };
        config.write.push(path.join(bare.dataDir, 'unsandboxed-written'));
        const version = await registerVersion(
          bare.url,
          erin.token,
          own.slug,
          await craftedModel(config)
        );
        const refused = await bare.api(erin, 'POST', '/api/v1/deployments', {
          project_id: own.id,
          version
        });
        expect(refused.status).toBe(409);
        expect(refused.body.error).toMatchObject({
          code: 'sandbox_unavailable',
          message: expect.stringMatching(
            /was not trained by Insighter's jobs, so it can only be served in a sandbox\. .*install bubblewrap \(apt-get install bubblewrap\) or start a Docker engine/
          )
        });
        expect(
          (
            await bare.api(
              erin,
              'GET',
              `/api/v1/deployments?project_id=${own.id}`
            )
          ).body.deployments
        ).toEqual([]);
        expectNothingWritten(config);
        expect(fs.existsSync(path.join(bare.dataDir, 'deployments'))).toBe(
          false
        );
      } finally {
        await bare.close();
      }
    }, 180_000);
  }
);
