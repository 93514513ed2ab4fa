import { CallerRateLimiter } from '../../src/deployments/rate-limiter';
import {
  creditRows,
  startDeploymentsTestServer,
  type DeploymentsTestServer,
  type SignedInUser
} from '../deployments/harness';
import { BACKENDS } from '../support/postgres';

/**
 * Security issue #12: the prediction endpoint had no per-API-key limit
 * (part 6: now a deployment's `rate_limit_per_minute`, 429 with
 * `Retry-After`), and team viewers saw the API key prefixes and user ids of
 * every caller in the deployment metrics (part 7: now only the project's
 * writers, who manage the keys, do).
 */
describe.each(BACKENDS)('deployments on %s', backend => {
  let t: DeploymentsTestServer;
  let owner: SignedInUser;
  let member: SignedInUser;
  let viewer: SignedInUser;
  let outsider: SignedInUser;
  let project: { id: string; slug: string };
  let deploymentId: string;
  let keyA: string;
  let keyB: string;
  const body = JSON.stringify({ dataframe_split: creditRows(1) });
  const json = { 'content-type': 'application/json' };
  const predictWith = (key: string) =>
    t.predict(project.slug, body, { 'x-api-key': key, ...json });

  beforeAll(async () => {
    t = await startDeploymentsTestServer({ backend });
    owner = await t.user('Olga Owner');
    member = await t.user('Max Member');
    viewer = await t.user('Vera Viewer');
    outsider = await t.user('Oscar Outsider');
    const teamId = await t.team(owner, [
      [member, 'member'],
      [viewer, 'viewer']
    ]);
    project = await t.project(owner, 'Rate Limited', ['logistic', 'logistic'], {
      visibility: 'team',
      team_id: teamId
    });
    const deployed = await t.api(member, 'POST', '/api/v1/deployments', {
      project_id: project.id,
      version: 1,
      rate_limit_per_minute: 3
    });
    expect(deployed.status).toBe(201);
    expect(deployed.body.rate_limit_per_minute).toBe(3);
    deploymentId = deployed.body.id;
    await t.waitFor(member, deploymentId, ['ready']);
    keyA = (
      await t.api(member, 'POST', `/api/v1/deployments/${deploymentId}/keys`, {
        name: 'a'
      })
    ).body.key;
    keyB = (
      await t.api(member, 'POST', `/api/v1/deployments/${deploymentId}/keys`, {
        name: 'b'
      })
    ).body.key;
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  describe('the prediction rate limit', () => {
    it('answers 429 with Retry-After once a key is over its limit; other keys and users go on', async () => {
      for (let i = 0; i < 3; i++) {
        expect((await predictWith(keyA)).status).toBe(200);
      }
      const over = await predictWith(keyA);
      expect(over.status).toBe(429);
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(Number(over.headers.get('retry-after'))).toBeLessThanOrEqual(20);
      expect(over.body.error).toEqual({
        code: 'rate_limited',
        message: expect.stringMatching(
          /^This endpoint takes at most 3 predictions per minute from each API key \(and each user\): try again in \d+ s\.$/
        )
      });
      expect((await predictWith(keyB)).status).toBe(200);
      const asViewer = await t.predict(project.slug, body, {
        authorization: `Bearer ${viewer.token}`,
        ...json
      });
      expect(asViewer.status).toBe(200);
    });

    it('is changed by the project’s writers only, and applies to the next prediction', async () => {
      expect(
        (
          await t.api(viewer, 'PATCH', `/api/v1/deployments/${deploymentId}`, {
            rate_limit_per_minute: null
          })
        ).status
      ).toBe(403);
      expect(
        (
          await t.api(
            outsider,
            'PATCH',
            `/api/v1/deployments/${deploymentId}`,
            { rate_limit_per_minute: null }
          )
        ).status
      ).toBe(404);
      expect((await predictWith(keyA)).status).toBe(429);

      const lifted = await t.api(
        member,
        'PATCH',
        `/api/v1/deployments/${deploymentId}`,
        { rate_limit_per_minute: null }
      );
      expect(lifted.status).toBe(200);
      expect(lifted.body.rate_limit_per_minute).toBeNull();
      expect((await predictWith(keyA)).status).toBe(200);

      const tight = await t.api(
        owner,
        'PATCH',
        `/api/v1/deployments/${deploymentId}`,
        { rate_limit_per_minute: 1 }
      );
      expect(tight.body.rate_limit_per_minute).toBe(1);
      // Key B took 1 of 3 before: at 1 per minute its bucket holds at most 1.
      expect((await predictWith(keyB)).status).toBe(200);
      expect((await predictWith(keyB)).status).toBe(429);
    });

    it('carries over to the next version', async () => {
      const next = await t.api(owner, 'POST', '/api/v1/deployments', {
        project_id: project.id,
        version: 2
      });
      expect(next.status).toBe(201);
      expect(next.body.rate_limit_per_minute).toBe(1);
      await t.waitFor(owner, next.body.id, ['ready']);
      expect((await predictWith(keyB)).status).toBe(429);
      deploymentId = next.body.id;
    }, 60_000);

    it('refuses a bad limit with 400, naming the field', async () => {
      const cases: [unknown, RegExp][] = [
        [
          { rate_limit_per_minute: 0 },
          /rate_limit_per_minute must be 1 or more \(null: no limit\)/
        ],
        [
          { rate_limit_per_minute: 1.5 },
          /rate_limit_per_minute must be a whole number/
        ],
        [
          { rate_limit_per_minute: '60' },
          /rate_limit_per_minute must be a whole number of predictions per minute/
        ],
        [
          { rate_limit_per_minute: 2_000_000 },
          /rate_limit_per_minute must be at most 1000000/
        ],
        [
          {},
          /rate_limit_per_minute must be a whole number of predictions per minute/
        ],
        [
          { rate_limit_per_minute: 5, status: 'ready' },
          /Unknown field "status"/
        ]
      ];
      for (const [input, message] of cases) {
        const res = await t.api(
          owner,
          'PATCH',
          `/api/v1/deployments/${deploymentId}`,
          input
        );
        expect({
          input,
          status: res.status,
          message: res.body.error.message
        }).toEqual({
          input,
          status: 400,
          message: expect.stringMatching(message)
        });
      }
      const deploy = await t.api(owner, 'POST', '/api/v1/deployments', {
        project_id: project.id,
        version: 1,
        rate_limit_per_minute: -1
      });
      expect(deploy.status).toBe(400);
      const row = await t.api(
        owner,
        'GET',
        `/api/v1/deployments/${deploymentId}`
      );
      expect(row.body).toMatchObject({
        status: 'ready',
        rate_limit_per_minute: 1
      });
    });
  });

  describe('the metrics', () => {
    it('show who called to the project’s writers, and not to its viewers', async () => {
      const forWriter = await t.api(
        member,
        'GET',
        `/api/v1/deployments/${deploymentId}/metrics`
      );
      expect(forWriter.status).toBe(200);
      expect(forWriter.body.recent.length).toBeGreaterThan(0);
      expect(
        forWriter.body.recent.map((r: { caller: string }) => r.caller)
      ).toContain(`key ${keyB.slice(0, 12)}`);

      const forViewer = await t.api(
        viewer,
        'GET',
        `/api/v1/deployments/${deploymentId}/metrics`
      );
      expect(forViewer.status).toBe(200);
      expect(forViewer.body.requests).toBe(forWriter.body.requests);
      expect(forViewer.body.recent).toHaveLength(forWriter.body.recent.length);
      for (const request of forViewer.body.recent) {
        expect(request).not.toHaveProperty('caller');
      }
      const text = JSON.stringify(forViewer.body);
      expect(text).not.toContain('ink_');
      expect(text).not.toContain(viewer.id);
    });
  });
});

describe('the per-caller token bucket', () => {
  it('lets a caller burst up to the limit, then at its pace, and says how long to wait', () => {
    const limiter = new CallerRateLimiter();
    const at = (seconds: number) => seconds * 1000;
    for (let i = 0; i < 60; i++) {
      expect(limiter.take('key a', 60, at(0))).toBe(0);
    }
    expect(limiter.take('key a', 60, at(0))).toBe(1);
    expect(limiter.take('key b', 60, at(0))).toBe(0);
    // One a second comes back.
    expect(limiter.take('key a', 60, at(1))).toBe(0);
    expect(limiter.take('key a', 60, at(1.5))).toBe(1);
    // At 6 a minute, the next one is 10 s away.
    const slow = new CallerRateLimiter();
    for (let i = 0; i < 6; i++) {
      slow.take('key', 6, at(0));
    }
    expect(slow.take('key', 6, at(0))).toBe(10);
    expect(slow.take('key', 6, at(4))).toBe(6);
    expect(slow.take('key', 6, at(10))).toBe(0);
  });
});
