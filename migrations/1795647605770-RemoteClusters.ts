import { MigrationInterface, QueryRunner } from "typeorm";

export class RemoteClusters1795647605770 implements MigrationInterface {
    name = 'RemoteClusters1795647605770'

    public async up(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`CREATE TABLE "remote_clusters" ("remote_id" character varying(26) NOT NULL, "remote_team_id" character varying(26) NOT NULL DEFAULT '', "name" character varying(64) NOT NULL, "display_name" character varying(64) NOT NULL, "site_url" character varying(512) NOT NULL, "default_team_id" character varying(26) NOT NULL DEFAULT '', "create_at" bigint NOT NULL DEFAULT '0', "delete_at" bigint NOT NULL DEFAULT '0', "last_ping_at" bigint NOT NULL DEFAULT '0', "last_global_user_sync_at" bigint NOT NULL DEFAULT '0', "token" character varying(128) NOT NULL, "remote_token" character varying(128) NOT NULL DEFAULT '', "topics" character varying(512) NOT NULL DEFAULT '', "creator_id" character varying(26) NOT NULL, "plugin_id" character varying(190) NOT NULL DEFAULT '', "options" integer NOT NULL DEFAULT '0', "online" boolean NOT NULL DEFAULT false, CONSTRAINT "PK_dbc8cd7ae7d3f5e3f253b49ebd8" PRIMARY KEY ("remote_id"))`);
        await queryRunner.query(`CREATE UNIQUE INDEX "uq_remote_clusters_site_url" ON "remote_clusters"  ("site_url", "remote_team_id") WHERE delete_at = 0`);
    }

    public async down(queryRunner: QueryRunner): Promise<void> {
        await queryRunner.query(`DROP INDEX "public"."uq_remote_clusters_site_url"`);
        await queryRunner.query(`DROP TABLE "remote_clusters"`);
    }

}
