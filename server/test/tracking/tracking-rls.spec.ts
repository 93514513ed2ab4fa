import { randomUUID } from 'node:crypto';
import type { JwtClaims, Queryable } from '../../src/db/types';
import {
  BACKENDS,
  createUser,
  freshDatabase,
  type TestDatabase,
  type TestUser
} from '../support/postgres';

/**
 * Row-level security of every tracking table, in the database itself (no
 * sidecar in between): for a team project, its owner and members read and
 * write, its viewers only read, an outsider and anon see and change nothing;
 * metrics and params are never changed or deleted, by anyone. Each probe
 * runs as the actor and is rolled back, so all start from the same rows.
 */
const ACTORS = ['owner', 'member', 'viewer', 'outsider', 'anon'] as const;
type Actor = (typeof ACTORS)[number];
type Op = 'select' | 'insert' | 'update' | 'delete';

const READERS: readonly Actor[] = ['owner', 'member', 'viewer'];
const WRITERS: readonly Actor[] = ['owner', 'member'];

interface World {
  project: string;
  experiment: string;
  run: string;
  dataset: string;
  freeDataset: string;
  input: string;
  model: string;
  version: string;
}

/** SQL per table and operation; `$1` is the world, as JSON. */
const PROBES: Record<string, Partial<Record<Op, string>>> = {
  experiments: {
    insert: `insert into public.experiments (project_id, name, creation_time, last_update_time)
             values ((w->>'project')::uuid, 'probe-' || gen_random_uuid(), 0, 0)`,
    update: `update public.experiments set name = name || '-x' where experiment_id = (w->>'experiment')::bigint`
  },
  experiment_tags: {
    insert: `insert into public.experiment_tags (experiment_id, project_id, key, value)
             values ((w->>'experiment')::bigint, (w->>'project')::uuid, 'new', 'v')`,
    update: `update public.experiment_tags set value = 'x' where experiment_id = (w->>'experiment')::bigint`,
    delete: `delete from public.experiment_tags where experiment_id = (w->>'experiment')::bigint`
  },
  runs: {
    insert: `insert into public.runs (id, experiment_id, project_id, name, start_time)
             values (replace(gen_random_uuid()::text, '-', ''), (w->>'experiment')::bigint, (w->>'project')::uuid, 'r', 0)`,
    update: `update public.runs set status = 'FINISHED' where id = w->>'run'`
  },
  run_metrics: {
    insert: `insert into public.run_metrics (run_id, project_id, key, value, timestamp, step)
             values (w->>'run', (w->>'project')::uuid, 'auc', 1, 1, 1)`,
    update: `update public.run_metrics set value = 0 where run_id = w->>'run'`,
    delete: `delete from public.run_metrics where run_id = w->>'run'`
  },
  run_latest_metrics: {
    insert: `insert into public.run_latest_metrics (run_id, project_id, key, value, timestamp, step)
             values (w->>'run', (w->>'project')::uuid, 'new', 1, 1, 1)`,
    update: `update public.run_latest_metrics set value = 0 where run_id = w->>'run'`
  },
  run_params: {
    insert: `insert into public.run_params (run_id, project_id, key, value)
             values (w->>'run', (w->>'project')::uuid, 'new', 'v')`,
    update: `update public.run_params set value = 'changed' where run_id = w->>'run'`,
    delete: `delete from public.run_params where run_id = w->>'run'`
  },
  run_tags: {
    insert: `insert into public.run_tags (run_id, project_id, key, value)
             values (w->>'run', (w->>'project')::uuid, 'new', 'v')`,
    update: `update public.run_tags set value = 'x' where run_id = w->>'run'`,
    delete: `delete from public.run_tags where run_id = w->>'run'`
  },
  experiment_datasets: {
    insert: `insert into public.experiment_datasets (experiment_id, project_id, name, digest, source_type, source)
             values ((w->>'experiment')::bigint, (w->>'project')::uuid, 'new', 'd', 's', 'src')`
  },
  run_inputs: {
    insert: `insert into public.run_inputs (run_id, project_id, dataset_id)
             values (w->>'run', (w->>'project')::uuid, (w->>'freeDataset')::uuid)`
  },
  run_input_tags: {
    insert: `insert into public.run_input_tags (input_id, project_id, key, value)
             values ((w->>'input')::uuid, (w->>'project')::uuid, 'new', 'v')`
  },
  registered_models: {
    insert: `insert into public.registered_models (project_id, name, creation_timestamp, last_updated_timestamp)
             values ((w->>'project')::uuid, 'probe-' || gen_random_uuid(), 0, 0)`,
    update: `update public.registered_models set description = 'x' where id = (w->>'model')::uuid`,
    delete: `delete from public.registered_models where id = (w->>'model')::uuid`
  },
  registered_model_tags: {
    insert: `insert into public.registered_model_tags (model_id, project_id, key, value)
             values ((w->>'model')::uuid, (w->>'project')::uuid, 'new', 'v')`,
    update: `update public.registered_model_tags set value = 'x' where model_id = (w->>'model')::uuid`,
    delete: `delete from public.registered_model_tags where model_id = (w->>'model')::uuid`
  },
  model_versions: {
    insert: `insert into public.model_versions (model_id, project_id, version, creation_timestamp, last_updated_timestamp, source)
             values ((w->>'model')::uuid, (w->>'project')::uuid, 2, 0, 0, 's')`,
    update: `update public.model_versions set description = 'x' where id = (w->>'version')::uuid`,
    delete: `delete from public.model_versions where id = (w->>'version')::uuid`
  },
  model_version_tags: {
    insert: `insert into public.model_version_tags (version_id, project_id, key, value)
             values ((w->>'version')::uuid, (w->>'project')::uuid, 'new', 'v')`,
    update: `update public.model_version_tags set value = 'x' where version_id = (w->>'version')::uuid`,
    delete: `delete from public.model_version_tags where version_id = (w->>'version')::uuid`
  },
  registered_model_aliases: {
    insert: `insert into public.registered_model_aliases (model_id, project_id, alias, version)
             values ((w->>'model')::uuid, (w->>'project')::uuid, 'new', 1)`,
    update: `update public.registered_model_aliases set version = 1 where model_id = (w->>'model')::uuid`,
    delete: `delete from public.registered_model_aliases where model_id = (w->>'model')::uuid`
  }
};

/** Who may do what: readers read every table, writers write what people may write. */
const EXPECTED: Record<string, Record<Op, readonly Actor[]>> = Object.fromEntries(
  Object.entries(PROBES).map(([table, ops]) => [
    table,
    {
      select: READERS,
      insert: ops.insert ? WRITERS : [],
      // Metrics and params are append-only: no update or delete, for anyone.
      update:
        ops.update && !['run_metrics', 'run_params'].includes(table) ? WRITERS : [],
      delete:
        ops.delete && !['run_metrics', 'run_params'].includes(table) ? WRITERS : []
    }
  ])
);

class RollBack extends Error {}

describe.each(BACKENDS)('tracking tables under RLS on %s', backend => {
  let t: TestDatabase;
  let users: Record<Exclude<Actor, 'anon'>, TestUser>;
  let world: World;

  beforeAll(async () => {
    t = await freshDatabase(backend);
    users = {
      owner: await createUser(t.db),
      member: await createUser(t.db),
      viewer: await createUser(t.db),
      outsider: await createUser(t.db)
    };
    const teamId = randomUUID();
    await t.db.withClaims(users.owner.claims, tx =>
      tx.query('insert into public.teams (id, name, created_by) values ($1, $2, auth.uid())', [
        teamId,
        'Risk'
      ])
    );
    world = await t.db.asService(async tx => {
      await tx.query(
        `insert into public.team_members (team_id, user_id, role) values ($1, $2, 'member'), ($1, $3, 'viewer')`,
        [teamId, users.member.id, users.viewer.id]
      );
      const one = async (sql: string, params: unknown[]) =>
        Object.values((await tx.query<Record<string, string>>(sql, params)).rows[0])[0];
      const project = await one(
        `insert into public.projects (slug, name, visibility, team_id, owner_id)
         values ('rls-probe', 'RLS probe', 'team', $1, $2) returning id`,
        [teamId, users.owner.id]
      );
      const experiment = await one(
        `insert into public.experiments (project_id, name, creation_time, last_update_time)
         values ($1, 'rls-probe', 0, 0) returning experiment_id::text`,
        [project]
      );
      const run = 'c'.repeat(32);
      await tx.query(
        `insert into public.runs (id, experiment_id, project_id, name, start_time) values ($1, $2, $3, 'r', 0)`,
        [run, experiment, project]
      );
      await tx.query(`insert into public.experiment_tags values ($1, $2, 'k', 'v')`, [
        experiment,
        project
      ]);
      for (const table of ['run_params', 'run_tags']) {
        await tx.query(`insert into public.${table} (run_id, project_id, key, value) values ($1, $2, 'k', 'v')`, [
          run,
          project
        ]);
      }
      for (const table of ['run_metrics', 'run_latest_metrics']) {
        await tx.query(
          `insert into public.${table} (run_id, project_id, key, value, timestamp, step) values ($1, $2, 'k', 1, 1, 0)`,
          [run, project]
        );
      }
      const dataset = await one(
        `insert into public.experiment_datasets (experiment_id, project_id, name, digest, source_type, source)
         values ($1, $2, 'data', 'd1', 's', 'src') returning id`,
        [experiment, project]
      );
      const freeDataset = await one(
        `insert into public.experiment_datasets (experiment_id, project_id, name, digest, source_type, source)
         values ($1, $2, 'data', 'd2', 's', 'src') returning id`,
        [experiment, project]
      );
      const input = await one(
        `insert into public.run_inputs (run_id, project_id, dataset_id) values ($1, $2, $3) returning id`,
        [run, project, dataset]
      );
      await tx.query(`insert into public.run_input_tags values ($1, $2, 'k', 'v')`, [input, project]);
      const model = await one(
        `insert into public.registered_models (project_id, name, creation_timestamp, last_updated_timestamp, next_version)
         values ($1, 'rls-probe', 0, 0, 2) returning id`,
        [project]
      );
      await tx.query(`insert into public.registered_model_tags values ($1, $2, 'k', 'v')`, [model, project]);
      const version = await one(
        `insert into public.model_versions (model_id, project_id, version, creation_timestamp, last_updated_timestamp, source)
         values ($1, $2, 1, 0, 0, 's') returning id`,
        [model, project]
      );
      await tx.query(`insert into public.model_version_tags values ($1, $2, 'k', 'v')`, [version, project]);
      await tx.query(
        `insert into public.registered_model_aliases (model_id, project_id, alias, version) values ($1, $2, 'champion', 1)`,
        [model, project]
      );
      return { project, experiment, run, dataset, freeDataset, input, model, version } as World;
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  /** Whether the statement did something as `claims`: rows seen or changed, no refusal. */
  const allowed = async (claims: JwtClaims | null, sql: string): Promise<boolean> => {
    let outcome = false;
    await t.db
      .withClaims(claims, async (tx: Queryable) => {
        try {
          const result = await tx.query(
            `with w as (select $1::jsonb as w) ${sql.replace(/\bw->>/g, '(select w from w)->>')}`,
            [JSON.stringify(world)]
          );
          outcome = result.rowCount > 0;
        } catch {
          outcome = false;
        }
        throw new RollBack();
      })
      .catch(err => {
        if (!(err instanceof RollBack)) {
          throw err;
        }
      });
    return outcome;
  };

  it('lets project readers read, project writers write, and nobody else', async () => {
    const actual: Record<string, Record<Op, Actor[]>> = {};
    for (const table of Object.keys(PROBES)) {
      actual[table] = { select: [], insert: [], update: [], delete: [] };
      for (const actor of ACTORS) {
        const claims = actor === 'anon' ? null : users[actor].claims;
        const statements: Record<Op, string | undefined> = {
          select: `select 1 from public.${table}`,
          insert: PROBES[table].insert,
          update: PROBES[table].update,
          delete: PROBES[table].delete
        };
        for (const op of ['select', 'insert', 'update', 'delete'] as const) {
          const sql = statements[op];
          if (sql && (await allowed(claims, sql))) {
            actual[table][op].push(actor);
          }
        }
      }
    }
    expect(actual).toEqual(
      Object.fromEntries(
        Object.entries(EXPECTED).map(([table, ops]) => [
          table,
          Object.fromEntries(Object.entries(ops).map(([op, actors]) => [op, [...actors]]))
        ])
      )
    );
  });

  it("keeps a metric with its run's project: another project's id is refused", async () => {
    const other = await t.db.withClaims(users.owner.claims, tx =>
      tx.query<{ id: string }>("insert into public.projects (slug, name) values ('other-rls', 'Other') returning id")
    );
    const refused = t.db.withClaims(users.owner.claims, tx =>
      tx.query(
        `insert into public.run_metrics (run_id, project_id, key, value, timestamp, step)
         values ($1, $2, 'auc', 1, 1, 0)`,
        [world.run, other.rows[0].id]
      )
    );
    await expect(refused).rejects.toThrow(/must name a run of their project/);
  });

  it('lets readers read run artifacts in Storage and writers add them', async () => {
    const name = `${world.experiment}/${world.run}/artifacts/probe.txt`;
    const insert = `insert into storage.objects (bucket_id, name, metadata) values ('artifacts', '${name}', '{}')`;
    await t.db.asService(tx =>
      tx.query(
        "insert into storage.objects (bucket_id, name, metadata) values ('artifacts', $1, '{}')",
        [`${world.experiment}/${world.run}/artifacts/existing.txt`]
      )
    );
    const readers: Actor[] = [];
    const writers: Actor[] = [];
    for (const actor of ACTORS) {
      const claims = actor === 'anon' ? null : users[actor].claims;
      if (await allowed(claims, "select 1 from storage.objects where bucket_id = 'artifacts'")) {
        readers.push(actor);
      }
      if (await allowed(claims, insert)) {
        writers.push(actor);
      }
    }
    expect({ readers, writers }).toEqual({ readers: [...READERS], writers: [...WRITERS] });
  });
});
