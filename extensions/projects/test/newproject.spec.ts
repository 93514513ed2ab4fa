import { InsighterBus } from '@insighter/core';
import { nullTranslator } from '@jupyterlab/translation';
import { ProjectsModel } from '../src/model';
import {
  NAME_MAX_LENGTH,
  NewProjectModel,
  validateNewProject
} from '../src/newproject';
import type { INewProject, ITeam } from '../src/tokens';
import { project, refusal, SidecarStub, TEAM } from './support';

const trans = nullTranslator.load('insighter');
const VIEWER_TEAM: ITeam = {
  id: '22222222-2222-4222-8222-222222222222',
  name: 'Auditors',
  role: 'viewer',
  member_count: 5
};

describe('validateNewProject', () => {
  const valid = {
    name: 'Churn',
    description: '',
    visibility: 'private' as const,
    teamId: ''
  };

  it('accepts a named private project', () => {
    expect(validateNewProject(valid, [], trans)).toEqual({});
  });

  it('requires a name of at most 100 characters', () => {
    expect(validateNewProject({ ...valid, name: '   ' }, [], trans)).toEqual({
      name: 'Project name is required.'
    });
    expect(
      validateNewProject(
        { ...valid, name: 'x'.repeat(NAME_MAX_LENGTH + 1) },
        [],
        trans
      )
    ).toEqual({ name: 'Project name must be at most 100 characters.' });
    expect(
      validateNewProject(
        { ...valid, name: 'x'.repeat(NAME_MAX_LENGTH) },
        [],
        trans
      )
    ).toEqual({});
  });

  it('limits the description', () => {
    expect(
      validateNewProject({ ...valid, description: 'x'.repeat(2001) }, [], trans)
        .description
    ).toBe('Project description must be at most 2000 characters.');
  });

  it('needs a team it may add projects to for a team project', () => {
    const team = { ...valid, visibility: 'team' as const };
    expect(validateNewProject(team, [], trans).team).toMatch(
      /create a team in Settings → Teams/
    );
    // A viewer may not add projects: such a team does not count.
    expect(
      validateNewProject(
        { ...team, teamId: VIEWER_TEAM.id },
        [VIEWER_TEAM],
        trans
      ).team
    ).toMatch(/create a team in Settings → Teams/);
    expect(validateNewProject(team, [TEAM], trans).team).toBe(
      'Choose a team for a team project.'
    );
    expect(
      validateNewProject({ ...team, teamId: TEAM.id }, [TEAM], trans)
    ).toEqual({});
  });
});

describe('NewProjectModel', () => {
  let sidecar: SidecarStub;
  let bus: InsighterBus;
  let projects: ProjectsModel;
  let submitted: INewProject[];
  let form: NewProjectModel;
  let answer: () => unknown;

  beforeEach(async () => {
    sidecar = new SidecarStub()
      .on('GET api/v1/projects', () => ({ projects: [] }))
      .on('GET api/v1/teams', () => ({ teams: [TEAM, VIEWER_TEAM] }));
    bus = new InsighterBus();
    projects = new ProjectsModel({ client: sidecar, bus });
    await projects.refresh();
    submitted = [];
    answer = () => project({ name: 'Created' });
    form = new NewProjectModel({
      projects,
      trans,
      submit: async input => {
        submitted.push(input);
        return answer() as ReturnType<typeof project>;
      }
    });
  });

  afterEach(() => {
    form.dispose();
    projects.dispose();
    bus.dispose();
  });

  it('shows problems only once submitted, then follows the typing', async () => {
    form.set('name', '');
    expect(form.errors).toEqual({});
    expect(await form.submit()).toBeNull();
    expect(form.errors).toEqual({ name: 'Project name is required.' });
    expect(submitted).toEqual([]);
    form.set('name', 'Credit Risk Alpha');
    expect(form.errors).toEqual({});
  });

  it('offers the teams one may add projects to, and picks the first for a team project', () => {
    expect(form.teams).toEqual([TEAM]);
    form.set('visibility', 'team');
    expect(form.values.teamId).toBe(TEAM.id);
  });

  it('sends trimmed values, with the team only for a team project', async () => {
    form.set('name', '  Credit Risk Alpha ');
    form.set('description', ' Scores ');
    form.set('visibility', 'team');
    const created = await form.submit();
    expect(created?.name).toBe('Created');
    expect(submitted).toEqual([
      {
        name: 'Credit Risk Alpha',
        description: 'Scores',
        visibility: 'team',
        team_id: TEAM.id
      }
    ]);
    expect(form.busy).toBe(false);
  });

  it("puts the server's field messages next to their fields", async () => {
    form.set('name', 'Churn');
    answer = () => {
      throw refusal(
        400,
        'invalid_input',
        'Project name must be at most 100 characters.',
        {
          fields: [
            {
              field: 'name',
              message: 'Project name must be at most 100 characters.'
            }
          ]
        }
      );
    };
    expect(await form.submit()).toBeNull();
    expect(form.errors).toEqual({
      name: 'Project name must be at most 100 characters.'
    });
    expect(form.serverError).toBeNull();
  });

  it("shows a team refusal at the team picker and any other refusal as the server's message", async () => {
    form.set('name', 'Churn');
    form.set('visibility', 'team');
    answer = () => {
      throw refusal(
        403,
        'not_team_member',
        'You are not a member of that team.'
      );
    };
    await form.submit();
    expect(form.errors.team).toBe('You are not a member of that team.');

    form.set('visibility', 'private');
    answer = () => {
      throw refusal(
        409,
        'conflict',
        'Another project with a similar name was created at the same moment: try again.'
      );
    };
    await form.submit();
    expect(form.serverError).toBe(
      'Another project with a similar name was created at the same moment: try again.'
    );
    // Typing again clears the server's verdict on the previous attempt.
    form.set('name', 'Churn 2');
    expect(form.serverError).toBeNull();
  });
});
