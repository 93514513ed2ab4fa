import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { creditRows, registerVersion } from '../deployments/harness';
import {
  GERMAN_CREDIT,
  startJobsSidecar,
  type JobsSidecar,
  type Person
} from '../jobs/harness';
import { testDockerHost } from '../support/dockerd';
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
  viewOf,
  waitForPython
} from './model-sandbox-support';

/**
 * Issue 12 with the other sandbox: where jobs go to Docker, the crafted
 * model's deployment is unpickled in a container of the Docker runner — as
 * nobody, with no network, seeing of the data dir only its model's files —
 * and training runs in one the same way, reaching the sidecar through its
 * own socket; the version it registers is served from its safe format, in
 * a container too.
 */
describe.each(BACKENDS)(
  'models and training in Docker containers on %s (issue 12)',
  backend => {
    let t: JobsSidecar;
    let port: number;
    let mallory: Person;
    let project: { id: string; slug: string };
    let victimObject: string;

    beforeAll(async () => {
      t = await startJobsSidecar({
        backend,
        env: { DOCKER_HOST: testDockerHost(), INSIGHTER_JOBS_RUNNER: 'docker' }
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

    it('unpickles a crafted model only in a container: as nobody, without the data dir, its secrets or network, writing nothing outside', async () => {
      const config = probeConfigFor(
        { dataDir: t.dataDir, port, victimObject },
        `docker-${randomUUID()}`
      );
      const version = await registerVersion(
        t.url,
        mallory.token,
        project.slug,
        await craftedModel(config)
      );
      const deployment = await deployAndWait(t, mallory, project.id, version);
      expect(deployment.body).toMatchObject({
        status: 'failed',
        runner: 'docker'
      });
      expectSandboxed(probeIn(deployment.body.error), deployment.body.id);
      expectNothingWritten(config);
    }, 120_000);

    it('trains in a container without network, through its own socket, and serves the version from its safe format in one', async () => {
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
      expect(created.body.runner).toBe('docker');
      const pid = await waitForPython(['insighter_train', created.body.id]);
      expect(viewOf(pid, t.dataDir)).toMatchObject({
        uids: [NOBODY, NOBODY, NOBODY, NOBODY],
        ownNetwork: true,
        ownMounts: true,
        seen: [`jobs/${created.body.id}/run/sidecar.sock`]
      });
      const job = await t.ended(mallory, created.body.id, 120_000);
      expect(job).toMatchObject({
        status: 'succeeded',
        model_version: expect.any(Number)
      });

      const deployment = await deployAndWait(
        t,
        mallory,
        project.id,
        job.model_version
      );
      expect(deployment.body).toMatchObject({
        status: 'ready',
        loader: 'json',
        sandbox: 'docker',
        runner: 'docker'
      });
      const answer = await t.api(
        mallory,
        'POST',
        `/api/v1/predict/${project.slug}`,
        {
          dataframe_split: creditRows(2)
        }
      );
      expect(answer.status).toBe(200);
      expect(answer.body.predictions).toHaveLength(2);
    }, 240_000);
  }
);
