import { MigrationInterface, QueryRunner } from "typeorm";

export class ChatCore1795646930186 implements MigrationInterface {
    name = 'ChatCore1795646930186'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "channel_members" ("channel_id" character varying(26) NOT NULL, "user_id" character varying(26) NOT NULL, "roles" character varying(256) NOT NULL DEFAULT '', "last_viewed_at" bigint NOT NULL DEFAULT '0', "msg_count" bigint NOT NULL DEFAULT '0', "mention_count" bigint NOT NULL DEFAULT '0', "notify_props" jsonb NOT NULL DEFAULT '{}', "last_update_at" bigint NOT NULL DEFAULT '0', "scheme_user" boolean NOT NULL DEFAULT true, "scheme_admin" boolean NOT NULL DEFAULT false, "scheme_guest" boolean NOT NULL DEFAULT false, "create_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_f25be699d4039301684128a7a8b" PRIMARY KEY ("channel_id", "user_id"))`);
        await queryRunner.query(`CREATE INDEX "idx_channel_members_user_id" ON "channel_members"  ("user_id") `);
        await queryRunner.query(`CREATE TABLE "channels" ("id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "team_id" character varying(26) NOT NULL DEFAULT '', "type" character varying(1) NOT NULL, "display_name" character varying(64) NOT NULL DEFAULT '', "name" character varying(64) NOT NULL, "header" character varying(1024) NOT NULL DEFAULT '', "purpose" character varying(250) NOT NULL DEFAULT '', "last_post_at" bigint NOT NULL DEFAULT '0', "last_root_post_at" bigint NOT NULL DEFAULT '0', "total_msg_count" bigint NOT NULL DEFAULT '0', "extra_update_at" bigint NOT NULL DEFAULT '0', "creator_id" character varying(26) NOT NULL DEFAULT '', "shared" boolean NOT NULL DEFAULT false, CONSTRAINT "PK_bc603823f3f741359c2339389f9" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_channels_team_id_name" ON "channels"  ("team_id", "name") `);
        await queryRunner.query(`CREATE TABLE "change_events" ("seq" BIGSERIAL NOT NULL, "kind" character varying(32) NOT NULL, "channel_id" character varying(26), "origin_remote_id" character varying(26), "data" jsonb NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_ee7fc950377d227d3db95ce1d61" PRIMARY KEY ("seq"))`);
        await queryRunner.query(`CREATE INDEX "idx_change_events_channel_seq" ON "change_events"  ("channel_id", "seq") `);
        await queryRunner.query(`CREATE TABLE "file_infos" ("id" character varying(26) NOT NULL, "creator_id" character varying(26) NOT NULL, "post_id" character varying(26) NOT NULL DEFAULT '', "channel_id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "path" character varying(512) NOT NULL, "name" character varying(256) NOT NULL, "extension" character varying(64) NOT NULL DEFAULT '', "size" bigint NOT NULL, "mime_type" character varying(256) NOT NULL DEFAULT '', "width" integer NOT NULL DEFAULT '0', "height" integer NOT NULL DEFAULT '0', "has_preview_image" boolean NOT NULL DEFAULT false, "content_hash" character(64) NOT NULL DEFAULT '', "remote_id" character varying(26), CONSTRAINT "PK_ebd0042d763980a7e7caf721b5e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_file_infos_channel_id" ON "file_infos"  ("channel_id") `);
        await queryRunner.query(`CREATE INDEX "idx_file_infos_post_id" ON "file_infos"  ("post_id") `);
        await queryRunner.query(`CREATE TABLE "post_acknowledgements" ("user_id" character varying(26) NOT NULL, "post_id" character varying(26) NOT NULL, "acknowledged_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "channel_id" character varying(26) NOT NULL, "remote_id" character varying(26), CONSTRAINT "PK_0fd618d0e54e5f64e755c2e6282" PRIMARY KEY ("user_id", "post_id"))`);
        await queryRunner.query(`CREATE INDEX "idx_post_acknowledgements_channel_update_at" ON "post_acknowledgements"  ("channel_id", "update_at") `);
        await queryRunner.query(`CREATE INDEX "idx_post_acknowledgements_post_id" ON "post_acknowledgements"  ("post_id") `);
        await queryRunner.query(`CREATE TABLE "posts" ("id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "edit_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "is_pinned" boolean NOT NULL DEFAULT false, "user_id" character varying(26) NOT NULL, "channel_id" character varying(26) NOT NULL, "root_id" character varying(26) NOT NULL DEFAULT '', "original_id" character varying(26) NOT NULL DEFAULT '', "message" text NOT NULL DEFAULT '', "type" character varying(64) NOT NULL DEFAULT '', "props" jsonb, "hashtags" character varying(1000) NOT NULL DEFAULT '', "file_ids" jsonb NOT NULL DEFAULT '[]', "pending_post_id" character varying(64) NOT NULL DEFAULT '', "remote_id" character varying(26), CONSTRAINT "PK_2829ac61eff60fcec60d7274b9e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_posts_root_id" ON "posts"  ("root_id") `);
        await queryRunner.query(`CREATE INDEX "idx_posts_channel_update_at_id" ON "posts"  ("channel_id", "update_at", "id") `);
        await queryRunner.query(`CREATE INDEX "idx_posts_channel_create_at_id" ON "posts"  ("channel_id", "create_at", "id") `);
        await queryRunner.query(`CREATE TABLE "reactions" ("user_id" character varying(26) NOT NULL, "post_id" character varying(26) NOT NULL, "emoji_name" character varying(64) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "remote_id" character varying(26), "channel_id" character varying(26) NOT NULL, CONSTRAINT "PK_44faa469d16568f1c0f88b1e5c8" PRIMARY KEY ("user_id", "post_id", "emoji_name"))`);
        await queryRunner.query(`CREATE INDEX "idx_reactions_channel_update_at" ON "reactions"  ("channel_id", "update_at") `);
        await queryRunner.query(`CREATE INDEX "idx_reactions_post_id" ON "reactions"  ("post_id") `);
        await queryRunner.query(`CREATE TABLE "team_members" ("team_id" character varying(26) NOT NULL, "user_id" character varying(26) NOT NULL, "roles" character varying(256) NOT NULL DEFAULT '', "delete_at" bigint NOT NULL DEFAULT '0', "scheme_user" boolean NOT NULL DEFAULT true, "scheme_admin" boolean NOT NULL DEFAULT false, "scheme_guest" boolean NOT NULL DEFAULT false, "create_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_1d3c06a8217a8785e2af0ec4ab8" PRIMARY KEY ("team_id", "user_id"))`);
        await queryRunner.query(`CREATE INDEX "idx_team_members_user_id" ON "team_members"  ("user_id") `);
        await queryRunner.query(`CREATE TABLE "teams" ("id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "display_name" character varying(64) NOT NULL, "name" character varying(64) NOT NULL, "description" character varying(255) NOT NULL DEFAULT '', "email" character varying(128) NOT NULL DEFAULT '', "type" character varying(1) NOT NULL DEFAULT 'O', "company_name" character varying(64) NOT NULL DEFAULT '', "allowed_domains" character varying(1000) NOT NULL DEFAULT '', "invite_id" character varying(32) NOT NULL DEFAULT '', "allow_open_invite" boolean NOT NULL DEFAULT false, CONSTRAINT "PK_7e5523774a38b08a6236d322403" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_teams_name" ON "teams"  ("name") `);
        await queryRunner.query(`CREATE TABLE "statuses" ("user_id" character varying(26) NOT NULL, "status" character varying(16) NOT NULL, "manual" boolean NOT NULL DEFAULT false, "last_activity_at" bigint NOT NULL DEFAULT '0', "dnd_end_time" bigint NOT NULL DEFAULT '0', "prev_status" character varying(16) NOT NULL DEFAULT '', "update_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_95fcdbc022b0ee9c4fb645504b0" PRIMARY KEY ("user_id"))`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TABLE "statuses"`);
        await queryRunner.query(`DROP INDEX "public"."uq_teams_name"`);
        await queryRunner.query(`DROP TABLE "teams"`);
        await queryRunner.query(`DROP INDEX "public"."idx_team_members_user_id"`);
        await queryRunner.query(`DROP TABLE "team_members"`);
        await queryRunner.query(`DROP INDEX "public"."idx_reactions_post_id"`);
        await queryRunner.query(`DROP INDEX "public"."idx_reactions_channel_update_at"`);
        await queryRunner.query(`DROP TABLE "reactions"`);
        await queryRunner.query(`DROP INDEX "public"."idx_posts_channel_create_at_id"`);
        await queryRunner.query(`DROP INDEX "public"."idx_posts_channel_update_at_id"`);
        await queryRunner.query(`DROP INDEX "public"."idx_posts_root_id"`);
        await queryRunner.query(`DROP TABLE "posts"`);
        await queryRunner.query(`DROP INDEX "public"."idx_post_acknowledgements_post_id"`);
        await queryRunner.query(`DROP INDEX "public"."idx_post_acknowledgements_channel_update_at"`);
        await queryRunner.query(`DROP TABLE "post_acknowledgements"`);
        await queryRunner.query(`DROP INDEX "public"."idx_file_infos_post_id"`);
        await queryRunner.query(`DROP INDEX "public"."idx_file_infos_channel_id"`);
        await queryRunner.query(`DROP TABLE "file_infos"`);
        await queryRunner.query(`DROP INDEX "public"."idx_change_events_channel_seq"`);
        await queryRunner.query(`DROP TABLE "change_events"`);
        await queryRunner.query(`DROP INDEX "public"."uq_channels_team_id_name"`);
        await queryRunner.query(`DROP TABLE "channels"`);
        await queryRunner.query(`DROP INDEX "public"."idx_channel_members_user_id"`);
        await queryRunner.query(`DROP TABLE "channel_members"`);
    }

}
