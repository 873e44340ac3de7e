import { MigrationInterface, QueryRunner } from "typeorm";

export class SharedChannels1795648606366 implements MigrationInterface {
    name = 'SharedChannels1795648606366'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "shared_channel_attachments" ("id" character varying(26) NOT NULL, "file_id" character varying(26) NOT NULL, "remote_id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "last_sync_at" bigint NOT NULL DEFAULT '0', "upload_id" character varying(26) NOT NULL DEFAULT '', CONSTRAINT "PK_821a8043c847d0273f98731789e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_shared_channel_attachments" ON "shared_channel_attachments"  ("file_id", "remote_id") `);
        await queryRunner.query(`CREATE TABLE "shared_channel_users" ("id" character varying(26) NOT NULL, "user_id" character varying(26) NOT NULL, "channel_id" character varying(26) NOT NULL, "remote_id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "last_sync_at" bigint NOT NULL DEFAULT '0', "last_picture_sync_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_ea4023f2f55e7d9716028ab73b3" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_shared_channel_users" ON "shared_channel_users"  ("user_id", "channel_id", "remote_id") `);
        await queryRunner.query(`CREATE TABLE "shared_channel_remotes" ("id" character varying(26) NOT NULL, "channel_id" character varying(26) NOT NULL, "creator_id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "is_invite_accepted" boolean NOT NULL DEFAULT false, "is_invite_confirmed" boolean NOT NULL DEFAULT false, "remote_id" character varying(26) NOT NULL, "last_post_update_at" bigint NOT NULL DEFAULT '0', "last_post_update_id" character varying(26) NOT NULL DEFAULT '', "last_post_create_at" bigint NOT NULL DEFAULT '0', "last_post_create_id" character varying(26) NOT NULL DEFAULT '', "last_members_sync_at" bigint NOT NULL DEFAULT '0', "last_reaction_update_at" bigint NOT NULL DEFAULT '0', "last_reaction_key" character varying(128) NOT NULL DEFAULT '', "last_ack_update_at" bigint NOT NULL DEFAULT '0', "last_ack_key" character varying(64) NOT NULL DEFAULT '', "last_user_event_seq" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_49400b3b62d9df978726b4c8642" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_shared_channel_remotes_remote_id" ON "shared_channel_remotes"  ("remote_id") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_shared_channel_remotes_channel_remote" ON "shared_channel_remotes"  ("channel_id", "remote_id") `);
        await queryRunner.query(`CREATE TABLE "shared_channels" ("channel_id" character varying(26) NOT NULL, "team_id" character varying(26) NOT NULL DEFAULT '', "home" boolean NOT NULL, "readonly" boolean NOT NULL DEFAULT false, "name" character varying(64) NOT NULL, "display_name" character varying(64) NOT NULL DEFAULT '', "purpose" character varying(250) NOT NULL DEFAULT '', "header" character varying(1024) NOT NULL DEFAULT '', "creator_id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "remote_id" character varying(26), "type" character varying(1) NOT NULL, CONSTRAINT "PK_84ec072017589d3fa99c473094f" PRIMARY KEY ("channel_id"))`);
        await queryRunner.query(`CREATE INDEX "idx_shared_channels_team_id" ON "shared_channels"  ("team_id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."idx_shared_channels_team_id"`);
        await queryRunner.query(`DROP TABLE "shared_channels"`);
        await queryRunner.query(`DROP INDEX "public"."uq_shared_channel_remotes_channel_remote"`);
        await queryRunner.query(`DROP INDEX "public"."idx_shared_channel_remotes_remote_id"`);
        await queryRunner.query(`DROP TABLE "shared_channel_remotes"`);
        await queryRunner.query(`DROP INDEX "public"."uq_shared_channel_users"`);
        await queryRunner.query(`DROP TABLE "shared_channel_users"`);
        await queryRunner.query(`DROP INDEX "public"."uq_shared_channel_attachments"`);
        await queryRunner.query(`DROP TABLE "shared_channel_attachments"`);
    }

}
