import { MigrationInterface, QueryRunner } from "typeorm";

export class SyncPostRetries1795649120064 implements MigrationInterface {
    name = 'SyncPostRetries1795649120064'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "sync_post_retries" ("id" character varying(26) NOT NULL, "post_id" character varying(26) NOT NULL, "channel_id" character varying(26) NOT NULL, "remote_id" character varying(26) NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" bigint NOT NULL DEFAULT '0', "last_error" character varying(1024) NOT NULL DEFAULT '', "parked" boolean NOT NULL DEFAULT false, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_ca8af238eb50196f75751511bc1" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_sync_post_retries_due" ON "sync_post_retries"  ("remote_id", "channel_id", "parked", "next_attempt_at") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_sync_post_retries_post_remote" ON "sync_post_retries"  ("post_id", "remote_id") `);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."uq_sync_post_retries_post_remote"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sync_post_retries_due"`);
        await queryRunner.query(`DROP TABLE "sync_post_retries"`);
    }

}
