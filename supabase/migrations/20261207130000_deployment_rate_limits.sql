-- A prediction endpoint's rate limit: how many predictions per minute each
-- caller (each API key, each signed-in user) may ask of it; null: no limit.
-- Set with the deployment, carried over to the project's next deployment,
-- and changed by the project's writers through set_deployment_rate_limit
-- (their update grant on deployments covers stopping only; a policy that let
-- them update the row would let them change its status too).

alter table public.deployments
  add column rate_limit_per_minute integer
    check (rate_limit_per_minute between 1 and 1000000);
comment on column public.deployments.rate_limit_per_minute is
  'Predictions per minute each API key (and each signed-in caller) may make; null: no limit.';

grant insert (rate_limit_per_minute) on public.deployments to authenticated;

create function public.set_deployment_rate_limit(p_deployment_id uuid, p_limit integer)
returns boolean
language sql
volatile
security definer
set search_path = ''
as $$
  with changed as (
    update public.deployments d
    set rate_limit_per_minute = p_limit
    where d.id = p_deployment_id
      and d.project_id = any (array(select public.writable_project_ids()))
    returning d.id
  )
  select exists (select 1 from changed);
$$;
comment on function public.set_deployment_rate_limit(uuid, integer) is
  'Sets a deployment''s rate limit (null: none) if the current user may write its project; whether it did.';
revoke execute on function public.set_deployment_rate_limit(uuid, integer) from public, anon;
grant execute on function public.set_deployment_rate_limit(uuid, integer) to authenticated, service_role;
