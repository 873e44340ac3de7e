import { MigrationInterface, QueryRunner } from "typeorm";

export class InviteIssuedAt1796418000000 implements MigrationInterface {
    name = 'InviteIssuedAt1796418000000'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "remote_clusters" ADD "invite_issued_at" bigint NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "remote_clusters" DROP COLUMN "invite_issued_at"`);
    }

}
