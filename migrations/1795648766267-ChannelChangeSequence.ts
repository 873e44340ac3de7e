import { MigrationInterface, QueryRunner } from "typeorm";

export class ChannelChangeSequence1795648766267 implements MigrationInterface {
    name = 'ChannelChangeSequence1795648766267'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_reaction_update_at"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_ack_update_at"`);
        await queryRunner.query(`ALTER TABLE "channels" ADD "last_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "post_acknowledgements" ADD "seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "posts" ADD "seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "reactions" ADD "seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_post_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_post_seq_id" character varying(26) NOT NULL DEFAULT ''`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_reaction_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_ack_seq" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`CREATE INDEX "idx_post_acknowledgements_channel_seq" ON "post_acknowledgements"  ("channel_id", "seq") `);
        await queryRunner.query(`CREATE INDEX "idx_posts_channel_seq" ON "posts"  ("channel_id", "seq") `);
        await queryRunner.query(`CREATE INDEX "idx_reactions_channel_seq" ON "reactions"  ("channel_id", "seq") `);
        // Hand-written after the generated part: the trigger that stamps every post, reaction and acknowledgement
        // write with the next value of its channel's sequence. The UPDATE on the channel row holds that row's lock
        // until commit, so within a channel seq order is commit order and a cursor on seq never skips a row.
        await queryRunner.query(`CREATE FUNCTION stamp_channel_seq() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE channels SET last_seq = last_seq + 1 WHERE id = NEW.channel_id RETURNING last_seq INTO NEW.seq;
  IF NEW.seq IS NULL THEN
    NEW.seq := 0;
  END IF;
  RETURN NEW;
END $$`);
        for (const table of ['posts', 'reactions', 'post_acknowledgements']) {
            await queryRunner.query(`CREATE TRIGGER ${table}_stamp_channel_seq BEFORE INSERT OR UPDATE ON "${table}" FOR EACH ROW EXECUTE FUNCTION stamp_channel_seq()`);
        }
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        for (const table of ['posts', 'reactions', 'post_acknowledgements']) {
            await queryRunner.query(`DROP TRIGGER IF EXISTS ${table}_stamp_channel_seq ON "${table}"`);
        }
        await queryRunner.query(`DROP FUNCTION IF EXISTS stamp_channel_seq()`);
        await queryRunner.query(`DROP INDEX "public"."idx_reactions_channel_seq"`);
        await queryRunner.query(`DROP INDEX "public"."idx_posts_channel_seq"`);
        await queryRunner.query(`DROP INDEX "public"."idx_post_acknowledgements_channel_seq"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_ack_seq"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_reaction_seq"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_post_seq_id"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_post_seq"`);
        await queryRunner.query(`ALTER TABLE "reactions" DROP COLUMN "seq"`);
        await queryRunner.query(`ALTER TABLE "posts" DROP COLUMN "seq"`);
        await queryRunner.query(`ALTER TABLE "post_acknowledgements" DROP COLUMN "seq"`);
        await queryRunner.query(`ALTER TABLE "channels" DROP COLUMN "last_seq"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_ack_update_at" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_reaction_update_at" bigint NOT NULL DEFAULT '0'`);
    }

}
