import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { DatabaseMigrator } from './database-migrator.js';
import { baseDataSourceOptions } from './typeorm-options.js';

@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ ...baseDataSourceOptions(config.database.url), autoLoadEntities: true }),
    }),
  ],
  providers: [DatabaseMigrator],
})
export class DatabaseModule {}
