import { Inject, Injectable } from '@nestjs/common';
import { newId } from '../../../common/ids.js';
import { jsonBytes } from '../../../common/json-body.js';
import { APP_CONFIG, type AppConfig } from '../../../config/app-config.js';
import { TransactionRunner, type Tx } from '../../../database/transaction-runner.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { isSystemAdmin } from '../../auth/permissions.js';
import { ChannelAccess } from '../channels/channel-access.service.js';
import { EPHEMERAL_POST_TYPE, isSystemPostType, POST_MESSAGE_MAX_RUNES, POSTS_PER_PAGE_MAX, SYSTEM_GENERIC_POST_TYPE } from '../chat.constants.js';
import { ChatErrors } from '../chat.errors.js';
import { ChangeKind, LOCAL_ORIGIN, type ChangeEvent, type ChangeOrigin, type NewChangeEvent } from '../events/change-event.types.js';
import { ChangeEventsService } from '../events/change-events.service.js';
import { toFileInfoJson } from '../files/file-info.mapper.js';
import { FileInfoRepository } from '../files/file-info.repository.js';
import type { CreatePostDto, PatchPostDto, PostListQuery } from './dto/post.dto.js';
import { toPostJson, type PostJson, type PostListJson } from './post.mapper.js';
import { PostEntity } from './post.entity.js';
import { PostRepository } from './post.repository.js';

export function runeLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

function assertMessageLength(message: string): void {
  const runes = runeLength(message);
  if (runes > POST_MESSAGE_MAX_RUNES) throw ChatErrors.messageTooLong(runes, POST_MESSAGE_MAX_RUNES);
}

/** Mattermost's hashtag extraction, simplified: words starting with # and a letter, space separated. */
function hashtagsOf(message: string): string {
  const tags = message.match(/(?:^|\s)#[A-Za-z][\w.-]{1,49}/g) ?? [];
  return [...new Set(tags.map((t) => t.trim()))].join(' ').slice(0, 1000);
}

/** A post the server writes itself: no permission check, no write policy, a `system_` type. */
export interface SystemPostSpec {
  channel_id: string;
  /** Shown as the author; Mattermost uses the user the event is about or the admin who caused it. */
  user_id: string;
  message: string;
  props?: Record<string, unknown>;
  /** Must start with "system_"; default system_generic. */
  type?: string;
}

@Injectable()
export class PostsService {
  constructor(
    private readonly posts: PostRepository,
    private readonly files: FileInfoRepository,
    private readonly access: ChannelAccess,
    private readonly events: ChangeEventsService,
    private readonly tx: TransactionRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Props of at most POST_PROPS_MAX_BYTES: a post every peer can take (Mattermost's receivers stop at ~300 KB). */
  private assertPropsSize(props: Record<string, unknown> | undefined): void {
    if (props === undefined) return;
    const bytes = jsonBytes(props);
    if (bytes > this.config.limits.postPropsMaxBytes) throw ChatErrors.propsTooLarge(bytes, this.config.limits.postPropsMaxBytes);
  }

  async create(auth: AuthContext, dto: CreatePostDto, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<PostJson> {
    assertMessageLength(dto.message);
    this.assertPropsSize(dto.props);
    const channel = await this.access.writable(auth, dto.channel_id, 'post', origin);
    const rootId = dto.root_id ?? '';
    if (rootId) {
      const root = await this.posts.findById(rootId);
      if (!root || root.delete_at || root.channel_id !== channel.id || root.root_id) throw ChatErrors.invalidRoot();
    }
    const fileIds = [...new Set(dto.file_ids ?? [])];
    const now = Date.now();
    const post = Object.assign(new PostEntity(), {
      id: newId(),
      create_at: now,
      update_at: now,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      user_id: auth.userId,
      channel_id: channel.id,
      root_id: rootId,
      original_id: '',
      message: dto.message,
      type: '',
      props: dto.props ?? {},
      hashtags: hashtagsOf(dto.message),
      file_ids: fileIds,
      pending_post_id: dto.pending_post_id ?? '',
      remote_id: origin.remoteId,
    });
    const newEvent: NewChangeEvent = { kind: ChangeKind.PostCreated, channel_id: channel.id, origin_remote_id: origin.remoteId, post_id: post.id, root_id: rootId };
    if (!fileIds.length) {
      // The common case in one statement (post + journal row); see PostRepository.insertWithJournal.
      await this.posts.insertWithJournal(post, this.events.journalRow(newEvent, now));
      this.events.publish({ ...newEvent, at: now } as ChangeEvent);
      if (!rootId) return toPostJson(post, { reply_count: 0, last_reply_at: 0, reactions: [], acknowledgements: [], files: [] });
      return (await this.render([post]))[0];
    }
    const event = await this.tx.run(async (tx) => {
      const infos = await this.files.findByIdsForUpdate(tx, fileIds);
      const bad = fileIds.filter((id) => {
        const f = infos.find((i) => i.id === id);
        return !f || f.delete_at || f.post_id || f.channel_id !== channel.id || (f.creator_id !== auth.userId && !isSystemAdmin(auth.roles));
      });
      if (bad.length) throw ChatErrors.invalidFileIds(`unusable file ids: ${bad.join(', ')}`);
      await this.files.attachToPost(tx, fileIds, post.id, now);
      await this.posts.insert(tx, post);
      return this.events.record(tx, newEvent, now);
    });
    this.events.publish(event);
    return (await this.render([post]))[0];
  }

  /**
   * A system post inside the caller's transaction; the caller publishes the returned event after commit.
   * It is journalled like any post (so clients and the sync engine see it), but its `system_` type marks it as
   * this server's own notice, which is not sent to peers.
   */
  async createSystemPostTx(tx: Tx, spec: SystemPostSpec, now = Date.now()): Promise<{ post: PostEntity; event: ChangeEvent }> {
    const type = spec.type ?? SYSTEM_GENERIC_POST_TYPE;
    if (!isSystemPostType(type)) throw new Error(`system post type must start with "system_", got "${type}"`);
    const post = Object.assign(new PostEntity(), {
      id: newId(),
      create_at: now,
      update_at: now,
      edit_at: 0,
      delete_at: 0,
      is_pinned: false,
      user_id: spec.user_id,
      channel_id: spec.channel_id,
      root_id: '',
      original_id: '',
      message: spec.message,
      type,
      props: spec.props ?? {},
      hashtags: '',
      file_ids: [],
      pending_post_id: '',
      remote_id: null,
    });
    await this.posts.insert(tx, post);
    const event = await this.events.record(
      tx,
      { kind: ChangeKind.PostCreated, channel_id: spec.channel_id, origin_remote_id: null, post_id: post.id, root_id: '' },
      now,
    );
    return { post, event };
  }

  /**
   * Mattermost's ephemeral post: shown to one user in a channel, never stored or synced (type system_ephemeral,
   * no author). Listeners of CHAT_NOTICE_EVENT deliver it (the WebSocket's ephemeral_message).
   */
  sendEphemeral(userId: string, channelId: string, message: string): PostJson {
    const now = Date.now();
    const post = toPostJson(
      Object.assign(new PostEntity(), {
        id: newId(),
        create_at: now,
        update_at: now,
        edit_at: 0,
        delete_at: 0,
        is_pinned: false,
        user_id: '',
        channel_id: channelId,
        root_id: '',
        original_id: '',
        message,
        type: EPHEMERAL_POST_TYPE,
        props: {},
        hashtags: '',
        file_ids: [],
        pending_post_id: '',
        remote_id: null,
      }),
      { reply_count: 0, last_reply_at: 0, reactions: [], acknowledgements: [], files: [] },
    );
    this.events.notify({ kind: 'ephemeral_post', user_id: userId, post, at: now });
    return post;
  }

  /** Client JSON of the posts with these ids, deleted ones included (as they are now), in the order found. */
  async renderByIds(ids: string[]): Promise<PostJson[]> {
    return ids.length ? this.render(await this.posts.findByIds(ids)) : [];
  }

  /** createSystemPostTx in its own transaction, published. */
  async createSystemPost(spec: SystemPostSpec): Promise<PostEntity> {
    const { post, event } = await this.tx.run((tx) => this.createSystemPostTx(tx, spec));
    this.events.publish(event);
    return post;
  }

  async get(auth: AuthContext, postId: string): Promise<PostJson> {
    const post = await this.readablePost(auth, postId);
    return (await this.render([post]))[0];
  }

  async list(auth: AuthContext, channelId: string, q: PostListQuery): Promise<PostListJson> {
    await this.access.readable(auth, channelId);
    const perPage = Math.min(q.per_page, POSTS_PER_PAGE_MAX);
    let page: PostEntity[];
    if (q.since !== undefined) {
      page = await this.posts.listChannelSince(channelId, q.since, 1000);
    } else {
      const anchorId = q.before ?? q.after;
      const anchor = anchorId ? await this.posts.findById(anchorId) : null;
      if (anchorId && (!anchor || anchor.channel_id !== channelId)) throw ChatErrors.postNotFound();
      const pos = anchor ? { create_at: anchor.create_at, id: anchor.id } : undefined;
      page = await this.posts.listChannelPage(channelId, {
        offset: q.page * perPage,
        limit: perPage,
        before: q.before ? pos : undefined,
        after: q.after ? pos : undefined,
      });
      if (q.after) page.reverse();
    }
    return this.postList(channelId, page, q.since === undefined);
  }

  async thread(auth: AuthContext, postId: string): Promise<PostListJson> {
    const post = await this.readablePost(auth, postId);
    const rootId = post.root_id || post.id;
    const posts = await this.posts.listThread(rootId);
    const rendered = await this.render(posts);
    return {
      order: rendered.map((p) => p.id),
      posts: Object.fromEntries(rendered.map((p) => [p.id, p])),
      next_post_id: '',
      prev_post_id: '',
      has_next: false,
    };
  }

  /** PUT /posts/{id}/patch and PUT /posts/{id}: only the author or a system admin; edit_at marks message edits. */
  async patch(auth: AuthContext, postId: string, dto: PatchPostDto, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<PostJson> {
    if (dto.message !== undefined) assertMessageLength(dto.message);
    this.assertPropsSize(dto.props);
    const current = await this.readablePost(auth, postId);
    if (current.user_id !== auth.userId && !isSystemAdmin(auth.roles)) throw ChatErrors.notPostAuthor();
    await this.access.writable(auth, current.channel_id, 'post', origin);
    const result = await this.tx.run(async (tx) => {
      const post = await this.posts.findByIdForUpdate(tx, postId);
      if (!post || post.delete_at) throw ChatErrors.postNotFound();
      const now = Math.max(Date.now(), post.update_at + 1);
      const changed: Partial<PostEntity> = {};
      if (dto.message !== undefined && dto.message !== post.message) {
        changed.message = dto.message;
        changed.hashtags = hashtagsOf(dto.message);
        changed.edit_at = now;
      }
      if (dto.is_pinned !== undefined && dto.is_pinned !== post.is_pinned) changed.is_pinned = dto.is_pinned;
      if (dto.props !== undefined && JSON.stringify(dto.props) !== JSON.stringify(post.props ?? {})) changed.props = dto.props;
      if (!Object.keys(changed).length) return { post, event: undefined };
      changed.update_at = now;
      await this.posts.update(tx, postId, changed);
      const event = await this.events.record(
        tx,
        { kind: ChangeKind.PostEdited, channel_id: post.channel_id, origin_remote_id: origin.remoteId, post_id: post.id, root_id: post.root_id },
        now,
      );
      return { post: Object.assign(post, changed), event };
    });
    if (result.event) this.events.publish(result.event);
    return (await this.render([result.post]))[0];
  }

  async setPinned(auth: AuthContext, postId: string, pinned: boolean): Promise<void> {
    const post = await this.readablePost(auth, postId);
    await this.access.writable(auth, post.channel_id, 'post');
    const result = await this.tx.run(async (tx) => {
      const locked = await this.posts.findByIdForUpdate(tx, postId);
      if (!locked || locked.delete_at) throw ChatErrors.postNotFound();
      if (locked.is_pinned === pinned) return undefined;
      const now = Math.max(Date.now(), locked.update_at + 1);
      await this.posts.update(tx, postId, { is_pinned: pinned, update_at: now });
      return this.events.record(
        tx,
        { kind: ChangeKind.PostEdited, channel_id: locked.channel_id, origin_remote_id: null, post_id: postId, root_id: locked.root_id },
        now,
      );
    });
    if (result) this.events.publish(result);
  }

  /** Soft delete (delete_at), replies of a root included; afterwards the post is 404 and leaves lists. */
  async remove(auth: AuthContext, postId: string, origin: ChangeOrigin = LOCAL_ORIGIN): Promise<void> {
    const post = await this.readablePost(auth, postId);
    if (post.user_id !== auth.userId && !isSystemAdmin(auth.roles)) throw ChatErrors.notPostAuthor();
    const event = await this.tx.run(async (tx) => {
      const locked = await this.posts.findByIdForUpdate(tx, postId);
      if (!locked || locked.delete_at) throw ChatErrors.postNotFound();
      const now = Math.max(Date.now(), locked.update_at + 1);
      await this.posts.softDeleteWithReplies(tx, postId, now);
      await this.files.softDeleteForPost(tx, postId, now);
      return this.events.record(
        tx,
        { kind: ChangeKind.PostDeleted, channel_id: locked.channel_id, origin_remote_id: origin.remoteId, post_id: postId, root_id: locked.root_id },
        now,
      );
    });
    this.events.publish(event);
  }

  async readablePost(auth: AuthContext, postId: string): Promise<PostEntity> {
    const post = await this.posts.findById(postId);
    if (!post || post.delete_at) throw ChatErrors.postNotFound();
    await this.access.readable(auth, post.channel_id);
    return post;
  }

  private async postList(channelId: string, page: PostEntity[], withNeighbours: boolean): Promise<PostListJson> {
    // Include the roots of replies in the page, as Mattermost does, so clients can render threads.
    const missingRoots = [...new Set(page.map((p) => p.root_id).filter((r) => r && !page.some((p) => p.id === r)))];
    const roots = (await this.posts.findByIds(missingRoots)).filter((r) => !r.delete_at);
    const rendered = await this.render([...page, ...roots]);
    let next = '';
    let prev = '';
    if (withNeighbours && page.length) {
      const newest = page[0];
      const oldest = page[page.length - 1];
      [next, prev] = await Promise.all([
        this.posts.neighbour(channelId, newest, 'newer'),
        this.posts.neighbour(channelId, oldest, 'older'),
      ]);
    }
    return {
      order: page.map((p) => p.id),
      posts: Object.fromEntries(rendered.map((p) => [p.id, p])),
      next_post_id: next,
      prev_post_id: prev,
      has_next: !!next,
    };
  }

  /** Post JSON with thread counts, reactions, acknowledgements and files: four queries for any number of posts. */
  async render(posts: PostEntity[]): Promise<PostJson[]> {
    const ids = posts.map((p) => p.id);
    const rootIds = [...new Set(posts.map((p) => p.root_id || p.id))];
    const [stats, reactions, acks, files] = await Promise.all([
      this.posts.threadStats(rootIds),
      this.posts.activeReactionsFor(ids),
      this.posts.activeAcksFor(ids),
      this.files.findForPosts(ids),
    ]);
    return posts.map((p) => {
      const s = stats.find((x) => x.root_id === (p.root_id || p.id));
      return toPostJson(p, {
        reply_count: s?.reply_count ?? 0,
        last_reply_at: p.root_id ? 0 : (s?.last_reply_at ?? 0),
        reactions: reactions.filter((r) => r.post_id === p.id),
        acknowledgements: acks.filter((a) => a.post_id === p.id),
        files: files.filter((f) => f.post_id === p.id).map(toFileInfoJson),
      });
    });
  }
}
