import { MigrationInterface, QueryRunner } from "typeorm";

export class AttachmentsMembershipUserSync1795650019069 implements MigrationInterface {
    name = 'AttachmentsMembershipUserSync1795650019069'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "global_user_sync_cursors" ("remote_id" character varying(26) NOT NULL, "cursor_update_at" bigint NOT NULL DEFAULT '0', "cursor_user_id" character varying(26) NOT NULL DEFAULT '', "update_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_ba349139d3b2945f95c098c0c9d" PRIMARY KEY ("remote_id"))`);
        await queryRunner.query(`CREATE TABLE "upload_sessions" ("id" character varying(26) NOT NULL, "type" character varying(32) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "user_id" character varying(26) NOT NULL, "channel_id" character varying(26) NOT NULL, "filename" character varying(256) NOT NULL, "file_size" bigint NOT NULL, "file_offset" bigint NOT NULL DEFAULT '0', "remote_id" character varying(26) NOT NULL, "req_file_id" character varying(26) NOT NULL, "path" character varying(512) NOT NULL, "complete_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_4b6ca30b8bb2baa0de9c6bf8fea" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_upload_sessions_remote_id" ON "upload_sessions"  ("remote_id") `);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_member_event_seq" bigint NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_member_event_seq"`);
        await queryRunner.query(`DROP INDEX "public"."idx_upload_sessions_remote_id"`);
        await queryRunner.query(`DROP TABLE "upload_sessions"`);
        await queryRunner.query(`DROP TABLE "global_user_sync_cursors"`);
    }

}
