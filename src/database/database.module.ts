import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, type AppConfig } from '../config/app-config.js';
import { DatabaseMigrator } from './database-migrator.js';
import { TransactionRunner } from './transaction-runner.js';
import { baseDataSourceOptions } from './typeorm-options.js';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({ ...baseDataSourceOptions(config.database.url, config.database.poolSize, config.database.poolTimeoutMs), autoLoadEntities: true }),
    }),
  ],
  providers: [DatabaseMigrator, TransactionRunner],
  exports: [TransactionRunner],
})
export class DatabaseModule {}
