-- Projects: the workspace that holds a user's (or a team's) datasets,
-- notebooks, runs, models and deployments. A project is private to its owner,
-- or shared with one team: viewers read it, members change it, the team's
-- owners and admins (and the project's owner) delete it.

create table public.projects (
  id uuid primary key default gen_random_uuid(),
  -- URL-safe and global (it names the prediction endpoint
  -- /api/v1/predict/<slug>); derived from the name by the sidecar and never
  -- changed afterwards, so links keep working after a rename.
  slug text not null unique check (
    slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' and char_length(slug) <= 80
  ),
  name text not null check (char_length(btrim(name)) between 1 and 100),
  description text not null default '' check (char_length(description) <= 2000),
  visibility text not null default 'private' check (visibility in ('private', 'team')),
  team_id uuid references public.teams (id) on delete cascade,
  -- Deleting an account deletes the projects it owns, team projects included.
  owner_id uuid not null default auth.uid() references auth.users (id) on delete cascade,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  constraint projects_team_matches_visibility check ((visibility = 'team') = (team_id is not null))
);
comment on table public.projects is
  'A workspace: private to its owner, or shared with one team (visibility = team).';
create index projects_owner_id_idx on public.projects (owner_id);
create index projects_team_id_idx on public.projects (team_id) where team_id is not null;
alter table public.projects enable row level security;

create trigger set_projects_updated_at
  before update on public.projects
  for each row execute function public.set_updated_at();

-- Only these columns come from people; id, owner and timestamps are the system's.
revoke insert, update on public.projects from anon, authenticated;
grant insert (slug, name, description, visibility, team_id) on public.projects to authenticated;
grant update (name, description, visibility, team_id) on public.projects to authenticated;

-- The teams the current user belongs to with at least the given role, as a
-- set: a list policy can then use the team_id index instead of calling
-- has_team_role() once per row of the table.
create function public.team_ids_with_role(p_min_role public.team_role)
returns setof uuid
language sql
stable
security definer
set search_path = ''
as $$
  select m.team_id
  from public.team_members m
  where m.user_id = (select auth.uid()) and m.role >= p_min_role;
$$;
comment on function public.team_ids_with_role(public.team_role) is
  'The ids of the current user''s teams in which they have at least the given role.';
revoke execute on function public.team_ids_with_role(public.team_role) from public, anon;
grant execute on function public.team_ids_with_role(public.team_role) to authenticated, service_role;

-- Reading

create policy "Owners can read their projects"
  on public.projects for select
  to authenticated
  using (owner_id = (select auth.uid()));

create policy "Team members can read their team's projects"
  on public.projects for select
  to authenticated
  using (
    visibility = 'team'
    and team_id = any (array(select public.team_ids_with_role('viewer')))
  );

-- Creating

create policy "Users can create private projects of their own"
  on public.projects for insert
  to authenticated
  with check (owner_id = (select auth.uid()) and visibility = 'private');

create policy "Members can create projects in their teams"
  on public.projects for insert
  to authenticated
  with check (
    owner_id = (select auth.uid())
    and visibility = 'team'
    and public.has_team_role(team_id, 'member')
  );

-- Changing (the new row must still be the owner's, or a team project of a
-- team the user is a member of: nobody moves a project into a team they
-- cannot write to)

create policy "Owners can update their projects"
  on public.projects for update
  to authenticated
  using (owner_id = (select auth.uid()))
  with check (
    owner_id = (select auth.uid())
    and (visibility = 'private' or public.has_team_role(team_id, 'member'))
  );

create policy "Team members can update their team's projects"
  on public.projects for update
  to authenticated
  using (visibility = 'team' and public.has_team_role(team_id, 'member'))
  with check (visibility = 'team' and public.has_team_role(team_id, 'member'));

-- Deleting

create policy "Owners can delete their projects"
  on public.projects for delete
  to authenticated
  using (owner_id = (select auth.uid()));

create policy "Team owners and admins can delete their team's projects"
  on public.projects for delete
  to authenticated
  using (visibility = 'team' and public.has_team_role(team_id, 'admin'));

-- Who a project is shared with is its owner's decision: a team member may
-- edit a team project but not make it private nor move it to another team.
-- Requests without a user (service role, migrations) are not limited.
create function public.guard_project_sharing()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  if (new.visibility, new.team_id) is distinct from (old.visibility, old.team_id)
    and (select auth.uid()) is not null
    and old.owner_id <> (select auth.uid())
  then
    raise exception 'Only the project''s owner can change who it is shared with.'
      using errcode = 'IN101';
  end if;
  return new;
end;
$$;
revoke execute on function public.guard_project_sharing() from public, anon, authenticated;

create trigger guard_project_sharing
  before update of visibility, team_id on public.projects
  for each row execute function public.guard_project_sharing();

-- Slugs are unique across every project, including those the user cannot
-- see; this answers the first free one (p_base, p_base-2, p_base-3, …)
-- without revealing anything else. Among k taken `p_base-n` slugs one of
-- 2..k+2 is free, so the search is bounded. A concurrent insert can still
-- take it first: the sidecar retries on the unique violation.
create function public.available_project_slug(p_base text)
returns text
language sql
stable
security definer
set search_path = ''
as $$
  with taken as (
    select p.slug
    from public.projects p
    where p.slug = p_base or p.slug like p_base || '-%'
  )
  select case
    when not exists (select 1 from taken t where t.slug = p_base) then p_base
    else (
      select p_base || '-' || n
      from generate_series(2, (select count(*) from taken)::int + 2) as n
      where not exists (select 1 from taken t where t.slug = p_base || '-' || n)
      order by n
      limit 1
    )
  end;
$$;
comment on function public.available_project_slug(text) is
  'The first of p_base, p_base-2, p_base-3, … that no project uses (p_base must already be a valid slug).';
revoke execute on function public.available_project_slug(text) from public, anon;
grant execute on function public.available_project_slug(text) to authenticated, service_role;
