import { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Hand-written. The channel's post counters (total_msg_count, last_post_at, last_root_post_at) move in the
 * database, once per INSERT statement, from the rows it actually inserted: creating a post becomes a single
 * statement (post + journal row), and a bulk import of N posts updates each channel row once instead of N times.
 * An AFTER ... FOR EACH STATEMENT trigger with a transition table sees only inserted rows, so an upsert that
 * turns into an update (ON CONFLICT DO UPDATE) counts nothing; a post inserted already deleted counts nothing.
 */
export class PostCountersTrigger1795660782506 implements MigrationInterface {
    name = 'PostCountersTrigger1795660782506'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE FUNCTION note_inserted_posts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE channels c
     SET total_msg_count = c.total_msg_count + x.n,
         last_post_at = GREATEST(c.last_post_at, x.last_post_at),
         last_root_post_at = GREATEST(c.last_root_post_at, x.last_root_post_at)
    FROM (SELECT channel_id,
                 count(*) AS n,
                 max(create_at) AS last_post_at,
                 COALESCE(max(create_at) FILTER (WHERE root_id = ''), 0) AS last_root_post_at
            FROM inserted_posts
           WHERE delete_at = 0
           GROUP BY channel_id) x
   WHERE c.id = x.channel_id;
  RETURN NULL;
END $$`);
        await queryRunner.query(`CREATE TRIGGER posts_note_inserted AFTER INSERT ON "posts" REFERENCING NEW TABLE AS inserted_posts FOR EACH STATEMENT EXECUTE FUNCTION note_inserted_posts()`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP TRIGGER IF EXISTS posts_note_inserted ON "posts"`);
        await queryRunner.query(`DROP FUNCTION IF EXISTS note_inserted_posts()`);
    }
}
