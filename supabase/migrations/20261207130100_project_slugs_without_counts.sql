-- A project's slug no longer tells about other people's projects. The first
-- free of p_base, p_base-2, p_base-3, … told whoever created a project
-- which numbered slugs existed, private ones included (a second "Owner
-- private" became owner-private-2, a third owner-private-3). Now a taken
-- name gets a random suffix of letters instead (owner-private-kfpajc; letters,
-- so that no suffix reads as a count): the slug is
-- still unique across every project, as the prediction endpoint
-- /api/v1/predict/<slug> needs, and says nothing about how many others
-- share the name or what their slugs are.

create or replace function public.available_project_slug(p_base text)
returns text
language plpgsql
volatile
security definer
set search_path = ''
as $$
declare
  candidate text := p_base;
begin
  while exists (select 1 from public.projects p where p.slug = candidate) loop
    candidate := p_base || '-'
      || translate(substr(gen_random_uuid()::text, 1, 6), '0123456789', 'ghijklmnop');
  end loop;
  return candidate;
end;
$$;
comment on function public.available_project_slug(text) is
  'p_base if no project uses it, else p_base with a random suffix that none uses (p_base must already be a valid slug).';
