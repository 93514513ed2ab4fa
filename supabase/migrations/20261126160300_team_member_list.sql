-- A team's members with their email addresses, for its members. Emails live
-- in auth.users, which API roles cannot read: this function hands out only
-- those of people in a team the caller belongs to.

create function public.team_member_list(p_team_id uuid)
returns table (
  user_id uuid,
  email text,
  full_name text,
  avatar_url text,
  role public.team_role,
  created_at timestamptz
)
language sql
stable
security definer
set search_path = ''
as $$
  select m.user_id, u.email::text, coalesce(p.full_name, ''), p.avatar_url, m.role, m.created_at
  from public.team_members m
  join auth.users u on u.id = m.user_id
  left join public.profiles p on p.id = m.user_id
  where m.team_id = p_team_id
    and public.has_team_role(p_team_id, 'viewer')
  order by m.role desc, coalesce(p.full_name, ''), u.email;
$$;
comment on function public.team_member_list(uuid) is
  'Members of a team (with email) for its own members; nothing for anyone else.';

revoke execute on function public.team_member_list(uuid) from public, anon;
grant execute on function public.team_member_list(uuid) to authenticated, service_role;
