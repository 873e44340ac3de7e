import { Body, Controller, Delete, Get, HttpCode, Param, Post, Put, Query } from '@nestjs/common';
import { ApiTags } from '@nestjs/swagger';
import { IdParamPipe, UserIdParamPipe } from '../../../common/id-param.pipe.js';
import type { AuthContext } from '../../auth/auth-context.js';
import { Authenticated, CurrentAuth } from '../../auth/auth.decorators.js';
import { ChatErrors } from '../chat.errors.js';
import { CreatePostDto, CreateReactionDto, PatchPostDto, PostListQuery, UpdatePostDto } from './dto/post.dto.js';
import { toAckJson, toReactionJson } from './post.mapper.js';
import { PostsService } from './posts.service.js';
import { ReactionsService } from './reactions.service.js';

const OK = { status: 'OK' } as const;

@ApiTags('posts')
@Controller('api/v4')
export class PostsController {
  constructor(
    private readonly posts: PostsService,
    private readonly reactions: ReactionsService,
  ) {}

  @Post('posts')
  @Authenticated()
  create(@CurrentAuth() auth: AuthContext, @Body() body: CreatePostDto) {
    return this.posts.create(auth, body);
  }

  @Get('posts/:post_id')
  @Authenticated()
  get(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string) {
    return this.posts.get(auth, postId);
  }

  @Get('posts/:post_id/thread')
  @Authenticated()
  thread(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string) {
    return this.posts.thread(auth, postId);
  }

  @Get('posts/:post_id/files/info')
  @Authenticated()
  async filesOf(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string) {
    return (await this.posts.get(auth, postId)).metadata.files ?? [];
  }

  @Get('channels/:channel_id/posts')
  @Authenticated()
  list(@CurrentAuth() auth: AuthContext, @Param('channel_id', IdParamPipe) channelId: string, @Query() q: PostListQuery) {
    return this.posts.list(auth, channelId, q);
  }

  @Put('posts/:post_id/patch')
  @Authenticated()
  patch(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string, @Body() body: PatchPostDto) {
    return this.posts.patch(auth, postId, body);
  }

  @Put('posts/:post_id')
  @Authenticated()
  update(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string, @Body() body: UpdatePostDto) {
    if (body.id !== postId) throw ChatErrors.postIdMismatch();
    return this.posts.patch(auth, postId, { message: body.message, props: body.props, is_pinned: body.is_pinned });
  }

  @Delete('posts/:post_id')
  @Authenticated()
  async remove(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string) {
    await this.posts.remove(auth, postId);
    return OK;
  }

  @Post('posts/:post_id/pin')
  @HttpCode(200)
  @Authenticated()
  async pin(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string) {
    await this.posts.setPinned(auth, postId, true);
    return OK;
  }

  @Post('posts/:post_id/unpin')
  @HttpCode(200)
  @Authenticated()
  async unpin(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string) {
    await this.posts.setPinned(auth, postId, false);
    return OK;
  }

  @Post('reactions')
  @HttpCode(200)
  @Authenticated()
  async react(@CurrentAuth() auth: AuthContext, @Body() body: CreateReactionDto) {
    return toReactionJson(await this.reactions.add(auth, body.user_id, body.post_id, body.emoji_name));
  }

  @Delete('users/:user_id/posts/:post_id/reactions/:emoji_name')
  @Authenticated()
  async unreact(
    @CurrentAuth() auth: AuthContext,
    @Param('user_id', UserIdParamPipe) userId: string,
    @Param('post_id', IdParamPipe) postId: string,
    @Param('emoji_name') emoji: string,
  ) {
    await this.reactions.remove(auth, userId === 'me' ? auth.userId : userId, postId, emoji);
    return OK;
  }

  @Get('posts/:post_id/reactions')
  @Authenticated()
  async reactionsOf(@CurrentAuth() auth: AuthContext, @Param('post_id', IdParamPipe) postId: string) {
    return (await this.reactions.list(auth, postId)).map(toReactionJson);
  }

  @Post('users/:user_id/posts/:post_id/ack')
  @HttpCode(200)
  @Authenticated()
  async ack(@CurrentAuth() auth: AuthContext, @Param('user_id', UserIdParamPipe) userId: string, @Param('post_id', IdParamPipe) postId: string) {
    return toAckJson(await this.reactions.acknowledge(auth, userId === 'me' ? auth.userId : userId, postId));
  }

  @Delete('users/:user_id/posts/:post_id/ack')
  @Authenticated()
  async unack(@CurrentAuth() auth: AuthContext, @Param('user_id', UserIdParamPipe) userId: string, @Param('post_id', IdParamPipe) postId: string) {
    await this.reactions.unacknowledge(auth, userId === 'me' ? auth.userId : userId, postId);
    return OK;
  }
}
