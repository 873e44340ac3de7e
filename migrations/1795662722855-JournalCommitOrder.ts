import { MigrationInterface, QueryRunner } from "typeorm";

export class JournalCommitOrder1795662722855 implements MigrationInterface {
    name = 'JournalCommitOrder1795662722855'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "users" ADD "sync_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "change_events" ADD "order_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "global_user_sync_cursors" ADD "cursor_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`CREATE INDEX "idx_users_sync_seq" ON "users"  ("sync_seq") `);
        await queryRunner.query(`CREATE INDEX "idx_change_events_channel_order_seq" ON "change_events"  ("channel_id", "order_seq") `);
        // Hand-written after the generated part. Cursors on change_events.seq (a plain sequence) could pass an
        // event whose transaction took a smaller seq but committed later; these stamps are taken under a lock held
        // until commit, so their order is commit order.
        //  - user-level events (channel_id null) and local users' rows: one advisory transaction lock and one
        //    sequence (such writes are rare: profiles, pictures, statuses);
        //  - member_added / member_removed: the channel row, with the channel sequence content already uses.
        // Existing rows keep their order: events take order_seq = seq, local users their (update_at, id) rank, and
        // every channel sequence and the new sequence start above any seq a cursor may already hold.
        await queryRunner.query(`UPDATE "change_events" SET "order_seq" = "seq" WHERE "channel_id" IS NULL OR "kind" IN ('member_added', 'member_removed')`);
        await queryRunner.query(`UPDATE "channels" SET "last_seq" = GREATEST("last_seq", (SELECT COALESCE(MAX("seq"), 0) FROM "change_events"))`);
        await queryRunner.query(`CREATE SEQUENCE "user_journal_seq"`);
        await queryRunner.query(`UPDATE "users" u SET "sync_seq" = r.rank + (SELECT COALESCE(MAX("seq"), 0) FROM "change_events")
                                   FROM (SELECT "id", ROW_NUMBER() OVER (ORDER BY "update_at", "id") AS rank FROM "users" WHERE "remote_id" IS NULL) r
                                  WHERE u."id" = r."id"`);
        await queryRunner.query(`SELECT setval('user_journal_seq', GREATEST(1, (SELECT COALESCE(MAX("seq"), 0) FROM "change_events"), (SELECT COALESCE(MAX("sync_seq"), 0) FROM "users")))`);
        // Global user sync cursors restart from the beginning: a full resend is harmless (receivers upsert).
        await queryRunner.query(`UPDATE "global_user_sync_cursors" SET "cursor_seq" = 0`);
        await queryRunner.query(`CREATE FUNCTION stamp_user_journal_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(7242553119);
  IF TG_TABLE_NAME = 'users' THEN
    NEW.sync_seq := nextval('user_journal_seq');
  ELSE
    NEW.order_seq := nextval('user_journal_seq');
  END IF;
  RETURN NEW;
END $$`);
        await queryRunner.query(`CREATE FUNCTION stamp_member_event_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE channels SET last_seq = last_seq + 1 WHERE id = NEW.channel_id RETURNING last_seq INTO NEW.order_seq;
  IF NEW.order_seq IS NULL THEN
    NEW.order_seq := 0;
  END IF;
  RETURN NEW;
END $$`);
        await queryRunner.query(`CREATE TRIGGER change_events_user_order BEFORE INSERT ON "change_events" FOR EACH ROW WHEN (NEW.channel_id IS NULL) EXECUTE FUNCTION stamp_user_journal_seq()`);
        await queryRunner.query(`CREATE TRIGGER change_events_member_order BEFORE INSERT ON "change_events" FOR EACH ROW WHEN (NEW.kind IN ('member_added', 'member_removed')) EXECUTE FUNCTION stamp_member_event_seq()`);
        await queryRunner.query(`CREATE TRIGGER users_sync_seq BEFORE INSERT OR UPDATE ON "users" FOR EACH ROW WHEN (NEW.remote_id IS NULL) EXECUTE FUNCTION stamp_user_journal_seq()`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TRIGGER IF EXISTS users_sync_seq ON "users"`);
        await queryRunner.query(`DROP TRIGGER IF EXISTS change_events_member_order ON "change_events"`);
        await queryRunner.query(`DROP TRIGGER IF EXISTS change_events_user_order ON "change_events"`);
        await queryRunner.query(`DROP FUNCTION IF EXISTS stamp_member_event_seq()`);
        await queryRunner.query(`DROP FUNCTION IF EXISTS stamp_user_journal_seq()`);
        await queryRunner.query(`DROP SEQUENCE IF EXISTS "user_journal_seq"`);
        await queryRunner.query(`DROP INDEX "public"."idx_change_events_channel_order_seq"`);
        await queryRunner.query(`DROP INDEX "public"."idx_users_sync_seq"`);
        await queryRunner.query(`ALTER TABLE "global_user_sync_cursors" DROP COLUMN "cursor_seq"`);
        await queryRunner.query(`ALTER TABLE "change_events" DROP COLUMN "order_seq"`);
        await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "sync_seq"`);
    }

}
