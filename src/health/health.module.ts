import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller.js';
import { SystemController } from './system.controller.js';

@Module({ imports: [TerminusModule], controllers: [HealthController, SystemController] })
export class HealthModule {}
