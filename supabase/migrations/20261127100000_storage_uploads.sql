-- Datasets' files: the private `uploads` bucket of Supabase Storage. Objects
-- live at `<user id>/<dataset id>/<file name>`; a signed-in user reads, adds,
-- replaces and deletes only objects under their own user id. Storage checks
-- every request against these policies on `storage.objects` (the embedded
-- /storage/v1 runs its SQL under the caller's claims the same way). Sharing
-- through projects comes with the data catalog's own policies.

insert into storage.buckets (id, name, public)
values ('uploads', 'uploads', false)
on conflict (id) do nothing;

create policy "Users can read their own uploads"
  on storage.objects for select to authenticated
  using (
    bucket_id = 'uploads'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );

create policy "Users can upload into their own folder"
  on storage.objects for insert to authenticated
  with check (
    bucket_id = 'uploads'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );

create policy "Users can replace their own uploads"
  on storage.objects for update to authenticated
  using (
    bucket_id = 'uploads'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  )
  with check (
    bucket_id = 'uploads'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );

create policy "Users can delete their own uploads"
  on storage.objects for delete to authenticated
  using (
    bucket_id = 'uploads'
    and (storage.foldername(name))[1] = (select auth.uid())::text
  );
