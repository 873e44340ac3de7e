import { MigrationInterface, QueryRunner } from "typeorm";

export class Init1795646093758 implements MigrationInterface {
    name = 'Init1795646093758'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "sessions" ("id" character varying(26) NOT NULL, "token_hash" character(64) NOT NULL, "user_id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "expires_at" bigint NOT NULL DEFAULT '0', "last_activity_at" bigint NOT NULL DEFAULT '0', "roles" character varying(256) NOT NULL DEFAULT '', "device_id" character varying(512) NOT NULL DEFAULT '', "props" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "PK_3238ef96f18b355b671619111bc" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_sessions_token_hash" ON "sessions"  ("token_hash") `);
        await queryRunner.query(`CREATE INDEX "idx_sessions_user_id" ON "sessions"  ("user_id") `);
        await queryRunner.query(`CREATE INDEX "idx_sessions_expires_at" ON "sessions"  ("expires_at") `);
        await queryRunner.query(`CREATE TABLE "users" ("id" character varying(26) NOT NULL, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "username" character varying(64) NOT NULL, "password" character varying(128) NOT NULL DEFAULT '', "auth_data" character varying(128), "auth_service" character varying(32) NOT NULL DEFAULT '', "email" character varying(128) NOT NULL, "email_verified" boolean NOT NULL DEFAULT false, "nickname" character varying(64) NOT NULL DEFAULT '', "first_name" character varying(64) NOT NULL DEFAULT '', "last_name" character varying(64) NOT NULL DEFAULT '', "position" character varying(128) NOT NULL DEFAULT '', "roles" character varying(256) NOT NULL DEFAULT 'system_user', "props" jsonb NOT NULL DEFAULT '{}', "notify_props" jsonb NOT NULL DEFAULT '{}', "last_password_update" bigint NOT NULL DEFAULT '0', "last_picture_update" bigint NOT NULL DEFAULT '0', "failed_attempts" integer NOT NULL DEFAULT '0', "locale" character varying(5) NOT NULL DEFAULT 'en', "timezone" jsonb NOT NULL DEFAULT '{}', "mfa_active" boolean NOT NULL DEFAULT false, "mfa_secret" character varying(128) NOT NULL DEFAULT '', "remote_id" character varying(26), "is_bot" boolean NOT NULL DEFAULT false, CONSTRAINT "PK_a3ffb1c0c8416b9fc6f907b7433" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_username" ON "users"  ("username") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_users_email" ON "users"  ("email") `);
        await queryRunner.query(`CREATE INDEX "idx_users_remote_id" ON "users"  ("remote_id") `);
        await queryRunner.query(`CREATE INDEX "idx_users_update_at_id" ON "users"  ("update_at", "id") `);
        await queryRunner.query(`CREATE TABLE "user_access_tokens" ("id" character varying(26) NOT NULL, "token_hash" character(64) NOT NULL, "user_id" character varying(26) NOT NULL, "description" character varying(512) NOT NULL DEFAULT '', "is_active" boolean NOT NULL DEFAULT true, CONSTRAINT "PK_f07c49baf74e5d699c83e2ec2bd" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_user_access_tokens_token_hash" ON "user_access_tokens"  ("token_hash") `);
        await queryRunner.query(`CREATE INDEX "idx_user_access_tokens_user_id" ON "user_access_tokens"  ("user_id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."idx_user_access_tokens_user_id"`);
        await queryRunner.query(`DROP INDEX "public"."uq_user_access_tokens_token_hash"`);
        await queryRunner.query(`DROP TABLE "user_access_tokens"`);
        await queryRunner.query(`DROP INDEX "public"."idx_users_update_at_id"`);
        await queryRunner.query(`DROP INDEX "public"."idx_users_remote_id"`);
        await queryRunner.query(`DROP INDEX "public"."uq_users_email"`);
        await queryRunner.query(`DROP INDEX "public"."uq_users_username"`);
        await queryRunner.query(`DROP TABLE "users"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sessions_expires_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sessions_user_id"`);
        await queryRunner.query(`DROP INDEX "public"."uq_sessions_token_hash"`);
        await queryRunner.query(`DROP TABLE "sessions"`);
    }

}
