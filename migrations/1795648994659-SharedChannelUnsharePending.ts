import { MigrationInterface, QueryRunner } from "typeorm";

export class SharedChannelUnsharePending1795648994659 implements MigrationInterface {
    name = 'SharedChannelUnsharePending1795648994659'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "unshare_pending" boolean NOT NULL DEFAULT false`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "unshare_pending"`);
    }

}
