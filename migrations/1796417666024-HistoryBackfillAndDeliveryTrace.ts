import { MigrationInterface, QueryRunner } from "typeorm";

export class HistoryBackfillAndDeliveryTrace1796417666024 implements MigrationInterface {
    name = 'HistoryBackfillAndDeliveryTrace1796417666024'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "trace_envelopes" ("id" BIGSERIAL NOT NULL, "at" bigint NOT NULL DEFAULT '0', "direction" character varying(3) NOT NULL, "remote_id" character varying(26) NOT NULL, "topic" character varying(64) NOT NULL, "msg_id" character varying(26) NOT NULL DEFAULT '', "channel_id" character varying(26) NOT NULL DEFAULT '', "items" jsonb NOT NULL DEFAULT '{}', "bytes" integer NOT NULL DEFAULT '0', "result" character varying(8) NOT NULL, "status" integer NOT NULL DEFAULT '0', "reason" character varying(256) NOT NULL DEFAULT '', "duration_ms" integer NOT NULL DEFAULT '0', CONSTRAINT "PK_a22151e85142002215291cbdd1e" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_trace_envelopes_at" ON "trace_envelopes"  ("at") `);
        await queryRunner.query(`CREATE INDEX "idx_trace_envelopes_remote_at" ON "trace_envelopes"  ("remote_id", "at") `);
        await queryRunner.query(`CREATE TABLE "trace_items" ("id" BIGSERIAL NOT NULL, "at" bigint NOT NULL DEFAULT '0', "direction" character varying(3) NOT NULL, "remote_id" character varying(26) NOT NULL, "channel_id" character varying(26) NOT NULL DEFAULT '', "post_id" character varying(26) NOT NULL, "kind" character varying(16) NOT NULL, "item_key" character varying(128) NOT NULL, "item_update_at" bigint NOT NULL DEFAULT '0', "event" character varying(16) NOT NULL, "msg_id" character varying(26) NOT NULL DEFAULT '', "sent_at" bigint NOT NULL DEFAULT '0', "attempt" integer NOT NULL DEFAULT '0', "next_attempt_at" bigint NOT NULL DEFAULT '0', "reason" character varying(256) NOT NULL DEFAULT '', "backfill" boolean NOT NULL DEFAULT false, CONSTRAINT "PK_2e87ac343c9ebd78a0e7a871ab2" PRIMARY KEY ("id"))`);
        await queryRunner.query(`CREATE INDEX "idx_trace_items_at" ON "trace_items"  ("at") `);
        await queryRunner.query(`CREATE INDEX "idx_trace_items_post_at" ON "trace_items"  ("post_id", "at") `);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_state" character varying(16) NOT NULL DEFAULT ''`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_since" bigint NOT NULL DEFAULT '-1'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_until" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_cursor_at" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_cursor_id" character varying(26) NOT NULL DEFAULT ''`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_total" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_sent" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_refused" integer NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_started_at" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "backfill_finished_at" bigint NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_finished_at"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_started_at"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_refused"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_sent"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_total"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_seq"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_cursor_id"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_cursor_at"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_until"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_since"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "backfill_state"`);
        await queryRunner.query(`DROP INDEX "public"."idx_trace_items_post_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_trace_items_at"`);
        await queryRunner.query(`DROP TABLE "trace_items"`);
        await queryRunner.query(`DROP INDEX "public"."idx_trace_envelopes_remote_at"`);
        await queryRunner.query(`DROP INDEX "public"."idx_trace_envelopes_at"`);
        await queryRunner.query(`DROP TABLE "trace_envelopes"`);
    }

}
