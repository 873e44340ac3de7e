import type { FileInfoEntity } from './file-info.entity.js';

/** Mattermost's FileInfo JSON; the storage path stays on the server. */
export function toFileInfoJson(f: FileInfoEntity) {
  return {
    id: f.id,
    user_id: f.creator_id,
    post_id: f.post_id,
    channel_id: f.channel_id,
    create_at: f.create_at,
    update_at: f.update_at,
    delete_at: f.delete_at,
    name: f.name,
    extension: f.extension,
    size: f.size,
    mime_type: f.mime_type,
    width: f.width,
    height: f.height,
    has_preview_image: f.has_preview_image,
    mini_preview: null,
    remote_id: f.remote_id ?? '',
    archived: false,
  };
}

export type FileInfoJson = ReturnType<typeof toFileInfoJson>;
