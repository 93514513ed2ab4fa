import { randomUUID } from 'node:crypto';
import { sqlState } from '../../src/db/errors';
import type { Queryable } from '../../src/db/types';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/**
 * Row-level security on public.jobs and public.job_log_lines, in SQL as each
 * kind of user: a team project's readers see its jobs and their logs, its
 * members start jobs (as themselves), nobody edits a job's history, and
 * outsiders and anon see nothing.
 */
type Role = 'viewer' | 'member' | 'admin' | 'owner';

describe.each(BACKENDS)('jobs RLS on %s', backend => {
  let t: TestDatabase;
  let owner: TestUser;
  let outsider: TestUser;
  const team = {} as Record<Role, TestUser>;
  let projectId: string;
  let jobId: string;

  const as = <T>(user: TestUser | null, fn: (tx: Queryable) => Promise<T>) =>
    t.db.withClaims(user?.claims ?? null, fn);

  const failure = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (err) {
      return sqlState(err);
    }
    return 'succeeded';
  };

  const insertJob = (
    user: TestUser | null,
    values: Record<string, unknown> = {}
  ) =>
    as(user, tx => {
      const row: Record<string, unknown> = {
        id: randomUUID(),
        project_id: projectId,
        run_id: randomUUID().replace(/-/g, ''),
        dataset_id: randomUUID(),
        target: 'Class',
        algorithm: 'xgboost',
        runner: 'process',
        memory_limit_mb: 512,
        cpu_limit: 1,
        ...values
      };
      const columns = Object.keys(row);
      return tx.query(
        `insert into public.jobs (${columns.join(', ')})
         values (${columns.map((_, i) => `$${i + 1}`).join(', ')})`,
        Object.values(row)
      );
    });

  beforeAll(async () => {
    t = await freshDatabase(backend);
    owner = await createUser(t.db, { fullName: 'Team Owner' });
    outsider = await createUser(t.db, { fullName: 'Outsider' });
    team.owner = owner;
    const teamId = randomUUID();
    await as(owner, tx =>
      tx.query('insert into public.teams (id, name) values ($1, $2)', [
        teamId,
        'Risk'
      ])
    );
    for (const role of ['viewer', 'member', 'admin'] as const) {
      team[role] = await createUser(t.db, { fullName: `Team ${role}` });
      await t.db.asService(tx =>
        tx.query(
          'insert into public.team_members (team_id, user_id, role) values ($1, $2, $3)',
          [teamId, team[role].id, role]
        )
      );
    }
    projectId = (
      await as(owner, tx =>
        tx.query<{ id: string }>(
          `insert into public.projects (slug, name, visibility, team_id)
           values ($1, 'Risk', 'team', $2) returning id`,
          [`risk-${randomUUID().slice(0, 8)}`, teamId]
        )
      )
    ).rows[0].id;
    jobId = randomUUID();
    await insertJob(team.member, { id: jobId });
    // The supervisor records lines as the service.
    await t.db.asService(tx =>
      tx.query(
        `insert into public.job_log_lines (job_id, project_id, n, stream, line, logged_at)
         values ($1, $2, 0, 'stdout', 'insighter_train: starting', 0)`,
        [jobId, projectId]
      )
    );
  });

  afterAll(async () => {
    await t?.close();
  });

  it('lets every reader of the project read its jobs and their logs, and nobody else', async () => {
    for (const user of [team.owner, team.admin, team.member, team.viewer]) {
      const seen = await as(user, async tx => ({
        jobs: (
          await tx.query('select id from public.jobs where id = $1', [jobId])
        ).rowCount,
        lines: (
          await tx.query(
            'select n from public.job_log_lines where job_id = $1',
            [jobId]
          )
        ).rowCount
      }));
      expect(seen).toEqual({ jobs: 1, lines: 1 });
    }
    for (const user of [outsider, null]) {
      const seen = await failure(
        as(user, async tx => {
          const jobs = (await tx.query('select id from public.jobs')).rowCount;
          const lines = (await tx.query('select n from public.job_log_lines'))
            .rowCount;
          if (jobs || lines) {
            throw new Error(`saw ${jobs} jobs, ${lines} lines`);
          }
        })
      );
      // anon has no grant at all; an outsider sees no row.
      expect(['succeeded', '42501']).toContain(seen);
    }
  });

  it('lets the project’s writers start jobs, as themselves and queued only', async () => {
    expect(await failure(insertJob(team.admin))).toBe('succeeded');
    expect(await failure(insertJob(team.owner))).toBe('succeeded');
    expect(await failure(insertJob(team.viewer))).toBe('42501');
    expect(await failure(insertJob(outsider))).toBe('42501');
    expect(await failure(insertJob(null))).toBe('42501');
    // Not in someone else's name, and not with a status of their choosing.
    expect(
      await failure(insertJob(team.member, { created_by: team.admin.id }))
    ).toBe('42501');
    expect(await failure(insertJob(team.member, { status: 'succeeded' }))).toBe(
      '42501'
    );
  });

  it('lets nobody edit a job’s history: status, log lines, deletes', async () => {
    for (const user of [team.owner, team.member]) {
      expect(
        await failure(
          as(user, tx =>
            tx.query(
              "update public.jobs set status = 'succeeded' where id = $1",
              [jobId]
            )
          )
        )
      ).toBe('42501');
      expect(
        await failure(
          as(user, tx =>
            tx.query('delete from public.jobs where id = $1', [jobId])
          )
        )
      ).toBe('42501');
      expect(
        await failure(
          as(user, tx =>
            tx.query(
              `insert into public.job_log_lines (job_id, project_id, n, stream, line, logged_at)
               values ($1, $2, 99, 'stdout', 'forged', 0)`,
              [jobId, projectId]
            )
          )
        )
      ).toBe('42501');
      expect(
        await failure(
          as(user, tx =>
            tx.query(
              "update public.job_log_lines set line = 'x' where job_id = $1",
              [jobId]
            )
          )
        )
      ).toBe('42501');
    }
  });

  it('goes with its project', async () => {
    await as(owner, tx =>
      tx.query('delete from public.projects where id = $1', [projectId])
    );
    const left = await t.db.asService(async tx => ({
      jobs: (
        await tx.query('select 1 from public.jobs where project_id = $1', [
          projectId
        ])
      ).rowCount,
      lines: (
        await tx.query(
          'select 1 from public.job_log_lines where project_id = $1',
          [projectId]
        )
      ).rowCount
    }));
    expect(left).toEqual({ jobs: 0, lines: 0 });
  });
});
