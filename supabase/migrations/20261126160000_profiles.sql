-- Profiles: the public face of an account (full name, avatar), one per user
-- in auth.users, created and kept in sync by triggers on auth.users.

-- Keeps updated_at honest on every table that has one.
create function public.set_updated_at()
returns trigger
language plpgsql
set search_path = ''
as $$
begin
  new.updated_at := now();
  return new;
end;
$$;

create table public.profiles (
  id uuid primary key references auth.users (id) on delete cascade,
  full_name text not null default '' check (char_length(full_name) <= 200),
  avatar_url text check (avatar_url is null or char_length(avatar_url) <= 2048),
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
comment on table public.profiles is 'One per user: what co-members see of each other.';
alter table public.profiles enable row level security;

create trigger set_profiles_updated_at
  before update on public.profiles
  for each row execute function public.set_updated_at();

-- People change only their own name and avatar; the rest is the system's.
revoke update on public.profiles from anon, authenticated;
grant update (full_name, avatar_url) on public.profiles to authenticated;

create policy "Users can read their own profile"
  on public.profiles for select
  to authenticated
  using (id = (select auth.uid()));

create policy "Users can update their own profile"
  on public.profiles for update
  to authenticated
  using (id = (select auth.uid()))
  with check (id = (select auth.uid()));

-- No insert or delete policy: profiles come and go with their auth.users row.

create function public.create_profile_for_new_user()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  insert into public.profiles (id, full_name, avatar_url)
  values (
    new.id,
    left(coalesce(btrim(new.raw_user_meta_data ->> 'full_name'), ''), 200),
    nullif(btrim(new.raw_user_meta_data ->> 'avatar_url'), '')
  )
  on conflict (id) do nothing;
  return new;
end;
$$;

create trigger on_auth_user_created
  after insert on auth.users
  for each row execute function public.create_profile_for_new_user();

-- A name or avatar changed through the auth API (user metadata) shows up in
-- the profile; only the fields that changed are copied, so an edit made on
-- the profile itself is not undone by an unrelated metadata change.
create function public.sync_profile_from_user_metadata()
returns trigger
language plpgsql
security definer
set search_path = ''
as $$
begin
  update public.profiles p
  set
    full_name = case
      when new.raw_user_meta_data ->> 'full_name' is distinct from old.raw_user_meta_data ->> 'full_name'
        then left(coalesce(btrim(new.raw_user_meta_data ->> 'full_name'), ''), 200)
      else p.full_name
    end,
    avatar_url = case
      when new.raw_user_meta_data ->> 'avatar_url' is distinct from old.raw_user_meta_data ->> 'avatar_url'
        then nullif(btrim(new.raw_user_meta_data ->> 'avatar_url'), '')
      else p.avatar_url
    end
  where p.id = new.id;
  return new;
end;
$$;

create trigger on_auth_user_metadata_updated
  after update of raw_user_meta_data on auth.users
  for each row
  when (old.raw_user_meta_data is distinct from new.raw_user_meta_data)
  execute function public.sync_profile_from_user_metadata();

revoke execute on function public.create_profile_for_new_user() from public, anon, authenticated;
revoke execute on function public.sync_profile_from_user_metadata() from public, anon, authenticated;
