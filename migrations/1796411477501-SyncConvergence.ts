import { MigrationInterface, QueryRunner } from "typeorm";

export class SyncConvergence1796411477501 implements MigrationInterface {
    name = 'SyncConvergence1796411477501'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "shared_channel_consistency" ("channel_id" character varying(26) NOT NULL, "remote_id" character varying(26) NOT NULL, "last_check_at" bigint NOT NULL DEFAULT '0', "last_result" character varying(16) NOT NULL DEFAULT '', "last_error" character varying(1024) NOT NULL DEFAULT '', "divergent" integer NOT NULL DEFAULT '0', "repaired" integer NOT NULL DEFAULT '0', "counts" jsonb NOT NULL DEFAULT '{}', "digest_bytes" integer NOT NULL DEFAULT '0', "repair_bytes" integer NOT NULL DEFAULT '0', "duration_ms" integer NOT NULL DEFAULT '0', "checks" integer NOT NULL DEFAULT '0', "divergent_total" integer NOT NULL DEFAULT '0', "repaired_total" integer NOT NULL DEFAULT '0', "next_check_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_f42f28353d4b1bfc0c4a5cfb208" PRIMARY KEY ("channel_id", "remote_id"))`);
        await queryRunner.query(`CREATE INDEX "idx_shared_channel_consistency_due" ON "shared_channel_consistency"  ("next_check_at") `);
        await queryRunner.query(`CREATE TABLE "sync_peers" ("remote_id" character varying(26) NOT NULL, "kind" character varying(16) NOT NULL DEFAULT 'unknown', "version" integer NOT NULL DEFAULT '0', "detected_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_68e21ca97f193e8f6a26bfab49a" PRIMARY KEY ("remote_id"))`);
        await queryRunner.query(`CREATE TABLE "sync_item_retries" ("id" character varying(26) NOT NULL, "kind" character varying(16) NOT NULL DEFAULT 'post', "item_key" character varying(128) NOT NULL DEFAULT '', "post_id" character varying(26) NOT NULL DEFAULT '', "channel_id" character varying(26) NOT NULL, "remote_id" character varying(26) NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" bigint NOT NULL DEFAULT '0', "last_error" character varying(1024) NOT NULL DEFAULT '', "parked" boolean NOT NULL DEFAULT false, "waiting_for" character varying(26) NOT NULL DEFAULT '', "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_833e8733d4a2136b25b6832bc13" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_sync_item_retries_waiting" ON "sync_item_retries"  ("remote_id", "waiting_for") WHERE "waiting_for" <> ''`);
        await queryRunner.query(`CREATE INDEX "idx_sync_item_retries_due" ON "sync_item_retries"  ("remote_id", "channel_id", "parked", "next_attempt_at") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_sync_item_retries_item" ON "sync_item_retries"  ("remote_id", "channel_id", "kind", "item_key") `);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "first_post_seq" bigint NOT NULL DEFAULT '0'`);
        // Hand-written after the generated part.
        // Rejected posts become the first kind of retried item; the old table goes.
        await queryRunner.query(`INSERT INTO "sync_item_retries" ("id", "kind", "item_key", "post_id", "channel_id", "remote_id", "attempts", "next_attempt_at", "last_error", "parked", "create_at", "update_at")
                                 SELECT "id", 'post', "post_id", "post_id", "channel_id", "remote_id", "attempts", "next_attempt_at", "last_error", "parked", "create_at", "update_at" FROM "sync_post_retries"`);
        await queryRunner.query(`DROP TABLE "sync_post_retries"`);
        // Where each existing share's post cursor started: the last post written before the share began (what the
        // sender's first pass computed then from the same timestamp).
        await queryRunner.query(`UPDATE "shared_channel_remotes" scr SET "first_post_seq" = COALESCE(
                                   (SELECT MIN("seq") - 1 FROM "posts" p WHERE p."channel_id" = scr."channel_id" AND p."update_at" >= scr."create_at"),
                                   scr."last_post_seq")
                                 WHERE scr."last_post_seq" > 0`);
        // The consistency check's digests are index-only scans of these (TypeORM cannot declare INCLUDE; the
        // entities name them with synchronize: false so the schema builder leaves them alone).
        await queryRunner.query(`CREATE INDEX "idx_posts_consistency" ON "posts" ("channel_id", "id") INCLUDE ("update_at", "delete_at", "seq", "remote_id") WHERE "type" NOT LIKE 'system\\_%'`);
        await queryRunner.query(`CREATE INDEX "idx_reactions_consistency" ON "reactions" ("channel_id", "post_id", "user_id", "emoji_name") INCLUDE ("remote_id", "seq") WHERE "delete_at" = 0`);
        await queryRunner.query(`CREATE INDEX "idx_post_acknowledgements_consistency" ON "post_acknowledgements" ("channel_id", "post_id", "user_id") INCLUDE ("remote_id", "seq") WHERE "acknowledged_at" > 0`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."idx_post_acknowledgements_consistency"`);
        await queryRunner.query(`DROP INDEX "public"."idx_reactions_consistency"`);
        await queryRunner.query(`DROP INDEX "public"."idx_posts_consistency"`);
        await queryRunner.query(`CREATE TABLE "sync_post_retries" ("id" character varying(26) NOT NULL, "post_id" character varying(26) NOT NULL, "channel_id" character varying(26) NOT NULL, "remote_id" character varying(26) NOT NULL, "attempts" integer NOT NULL DEFAULT '0', "next_attempt_at" bigint NOT NULL DEFAULT '0', "last_error" character varying(1024) NOT NULL DEFAULT '', "parked" boolean NOT NULL DEFAULT false, "create_at" bigint NOT NULL DEFAULT '0', "update_at" bigint NOT NULL DEFAULT '0', CONSTRAINT "PK_ca8af238eb50196f75751511bc1" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_sync_post_retries_due" ON "sync_post_retries"  ("remote_id", "channel_id", "parked", "next_attempt_at") `);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_sync_post_retries_post_remote" ON "sync_post_retries"  ("post_id", "remote_id") `);
        await queryRunner.query(`INSERT INTO "sync_post_retries" ("id", "post_id", "channel_id", "remote_id", "attempts", "next_attempt_at", "last_error", "parked", "create_at", "update_at")
                                 SELECT "id", "item_key", "channel_id", "remote_id", "attempts", "next_attempt_at", "last_error", "parked", "create_at", "update_at" FROM "sync_item_retries" WHERE "kind" = 'post'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "first_post_seq"`);
        await queryRunner.query(`DROP INDEX "public"."uq_sync_item_retries_item"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sync_item_retries_due"`);
        await queryRunner.query(`DROP INDEX "public"."idx_sync_item_retries_waiting"`);
        await queryRunner.query(`DROP TABLE "sync_item_retries"`);
        await queryRunner.query(`DROP TABLE "sync_peers"`);
        await queryRunner.query(`DROP INDEX "public"."idx_shared_channel_consistency_due"`);
        await queryRunner.query(`DROP TABLE "shared_channel_consistency"`);
    }

}
