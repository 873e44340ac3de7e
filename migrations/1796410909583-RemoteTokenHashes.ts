import { MigrationInterface, QueryRunner } from "typeorm";

export class RemoteTokenHashes1796410909583 implements MigrationInterface {
    name = 'RemoteTokenHashes1796410909583'

    public async up(queryRunner: QueryRunner): Promise<void> {
        // Hand-edited from the generated DROP/ADD: the tokens peers present to us were stored in clear; existing
        // rows keep working because their tokens are hashed here (hex SHA-256 of the UTF-8 token, as tokens.ts
        // computes it), then the clear column goes.
        await queryRunner.query(`ALTER TABLE "remote_clusters" ADD "token_hash" character varying(64) NOT NULL DEFAULT ''`);
        await queryRunner.query(`UPDATE "remote_clusters" SET "token_hash" = encode(sha256(convert_to("token", 'UTF8')), 'hex')`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" ALTER COLUMN "token_hash" DROP DEFAULT`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" DROP COLUMN "token"`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" ADD "previous_token_hash" character varying(64) NOT NULL DEFAULT ''`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" ADD "previous_token_expires_at" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" ADD "pending_token" character varying(512) NOT NULL DEFAULT ''`);
        // Room for a peer's longest token (128) sealed with REMOTE_TOKEN_KEY.
        await queryRunner.query(`ALTER TABLE "remote_clusters" ALTER COLUMN "remote_token" TYPE character varying(512)`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" ADD "pending_awaits_reply" boolean NOT NULL DEFAULT false`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "remote_clusters" ALTER COLUMN "remote_token" TYPE character varying(128)`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" DROP COLUMN "pending_awaits_reply"`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" DROP COLUMN "pending_token"`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" DROP COLUMN "previous_token_expires_at"`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" DROP COLUMN "previous_token_hash"`);
        // A hash cannot be turned back into the token: after a revert every peer must be invited again.
        await queryRunner.query(`ALTER TABLE "remote_clusters" ADD "token" character varying(128) NOT NULL DEFAULT ''`);
        await queryRunner.query(`UPDATE "remote_clusters" SET "token" = 'revoked-' || "token_hash"`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" ALTER COLUMN "token" DROP DEFAULT`);
        await queryRunner.query(`ALTER TABLE "remote_clusters" DROP COLUMN "token_hash"`);
    }

}
