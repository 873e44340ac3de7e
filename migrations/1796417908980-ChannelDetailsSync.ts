import { MigrationInterface, QueryRunner } from "typeorm";

export class ChannelDetailsSync1796417908980 implements MigrationInterface {
    name = 'ChannelDetailsSync1796417908980'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" ADD "last_details_update_at" bigint NOT NULL DEFAULT '0'`);
        await queryRunner.query(`ALTER TABLE "shared_channels" ADD "details_update_at" bigint NOT NULL DEFAULT '0'`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`ALTER TABLE "shared_channels" DROP COLUMN "details_update_at"`);
        await queryRunner.query(`ALTER TABLE "shared_channel_remotes" DROP COLUMN "last_details_update_at"`);
    }

}
